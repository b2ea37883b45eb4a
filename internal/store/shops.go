package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/precondition"
	"github.com/surge-commerce/surge/internal/shop"
)

var (
	_ platform.Store = (*Store)(nil)
	_ shop.Store     = (*Store)(nil)
)

// AdminKeyCount implements platform.Store.
func (s *Store) AdminKeyCount(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM admin_keys").Scan(&n)
	return n, classify(err)
}

// AddAdminKey implements platform.Store.
func (s *Store) AddAdminKey(ctx context.Context, hash string, now time.Time) error {
	_, err := s.exec(ctx, s.q("INSERT INTO admin_keys (key_hash, created_at) VALUES (?, ?)"), hash, micros(now))
	return classify(err)
}

// AdminKeyExists implements platform.Store.
func (s *Store) AdminKeyExists(ctx context.Context, hash string) (bool, error) {
	var one int
	err := s.read.QueryRowContext(ctx, s.q("SELECT 1 FROM admin_keys WHERE key_hash = ?"), hash).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, classify(err)
}

// CreateShop implements shop.Store.
func (s *Store) CreateShop(ctx context.Context, slug, name, keyHash string, now time.Time) (shop.Shop, error) {
	sh := shop.Shop{Slug: slug, Name: name, Tier: "standard", CreatedAt: fromMicros(micros(now)), Version: 1}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q("INSERT INTO shops (slug, name, created_at) VALUES (?, ?, ?) RETURNING shop_id"),
			slug, name, micros(now)).Scan(&sh.ID)
		if errcode.Is(classify(err), errcode.Conflict) {
			return errcode.Typed(errcode.Conflict, "shop_exists", "a shop with slug %q already exists", slug)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO shop_keys (key_hash, shop_id, created_at) VALUES (?, ?, ?)"),
			keyHash, sh.ID, micros(now))
		return err
	})
	return sh, err
}

// ShopBySlug implements shop.Store.
func (s *Store) ShopBySlug(ctx context.Context, slug string) (shop.Shop, error) {
	return s.shopBySlug(ctx, s.read, slug)
}

func (s *Store) shopBySlug(ctx context.Context, db dbtx, slug string) (shop.Shop, error) {
	sh := shop.Shop{Slug: slug}
	var created int64
	err := db.QueryRowContext(ctx, s.q("SELECT shop_id, name, tier, created_at, version FROM shops WHERE slug = ?"), slug).
		Scan(&sh.ID, &sh.Name, &sh.Tier, &created, &sh.Version)
	if err == sql.ErrNoRows {
		return shop.Shop{}, errcode.Typed(errcode.NotFound, "shop_not_found", "no shop %q", slug)
	}
	sh.CreatedAt = fromMicros(created)
	return sh, classify(err)
}

// ShopKey implements shop.Store.
func (s *Store) ShopKey(ctx context.Context, keyHash string, now time.Time) (shop.Key, error) {
	var k shop.Key
	var expires sql.NullInt64
	err := s.read.QueryRowContext(ctx,
		s.q("SELECT shop_id, expires_at FROM shop_keys WHERE key_hash = ? AND (expires_at IS NULL OR expires_at > ?)"),
		keyHash, micros(now)).Scan(&k.ShopID, &expires)
	if err == sql.ErrNoRows {
		return k, errcode.New(errcode.Unauthorized, "unknown or expired API key")
	}
	if expires.Valid {
		k.ExpiresAt = fromMicros(expires.Int64)
	}
	return k, classify(err)
}

// RotateShopKey implements shop.Store.
func (s *Store) RotateShopKey(ctx context.Context, shopID int64, byHash, keyHash string, now, oldExpireAt time.Time) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.lockCurrentKey(ctx, tx, shopID, byHash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`UPDATE shop_keys SET expires_at = ?
			WHERE shop_id = ? AND (expires_at IS NULL OR expires_at > ?)`),
			micros(oldExpireAt), shopID, micros(oldExpireAt))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO shop_keys (key_hash, shop_id, created_at) VALUES (?, ?, ?)"),
			keyHash, shopID, micros(now))
		return err
	})
}

// EndGrace implements shop.Store.
func (s *Store) EndGrace(ctx context.Context, shopID int64, byHash string, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.lockCurrentKey(ctx, tx, shopID, byHash); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE shop_keys SET expires_at = ?
			WHERE shop_id = ? AND expires_at IS NOT NULL AND expires_at > ?`), micros(now), shopID, micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// lockCurrentKey checks, under a lock that a concurrent rotation also
// takes, that byHash is still the shop's current key: two rotations by
// the same key cannot both pass, and the second one's caller is by then
// holding a key in grace. An empty byHash (the platform admin) passes.
func (s *Store) lockCurrentKey(ctx context.Context, tx *sql.Tx, shopID int64, byHash string) error {
	if byHash == "" {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM shop_keys WHERE key_hash = ? AND shop_id = ? AND expires_at IS NULL`+s.forUpdate()),
		byHash, shopID).Scan(&one)
	if err == sql.ErrNoRows {
		return errcode.Typed(errcode.Forbidden, "key_in_grace",
			"this key was rotated and is in its grace period: it cannot rotate or revoke keys; use the current key")
	}
	return err
}

// SetShopTier implements shop.Store. The If-Match versions are part of
// the UPDATE's WHERE, so of two admins holding one version only one wins.
func (s *Store) SetShopTier(ctx context.Context, slug, tier string, cond precondition.Condition) (shop.Shop, error) {
	n := int64(0)
	if !cond.Absent { // a shop's tier always exists: If-None-Match: * never holds
		where, args := cond.VersionSQL("version")
		res, err := s.exec(ctx, s.q(`UPDATE shops SET tier = ?, version = version + 1 WHERE slug = ?`+where),
			append([]any{tier, slug}, args...)...)
		if err != nil {
			return shop.Shop{}, classify(err)
		}
		n, _ = res.RowsAffected()
	}
	sh, err := s.shopBySlug(ctx, s.write, slug)
	if err != nil {
		return shop.Shop{}, err
	}
	if n == 0 {
		return shop.Shop{}, cond.Failed(precondition.Name("shop", slug))
	}
	return sh, nil
}

var _ platform.FlagStore = (*Store)(nil)

// Flags implements platform.FlagStore.
func (s *Store) Flags(ctx context.Context) (map[string]bool, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, enabled FROM feature_flags`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		var on int
		if err := rows.Scan(&name, &on); err != nil {
			return nil, classify(err)
		}
		out[name] = on == 1
	}
	return out, classify(rows.Err())
}

// SetFlag sets a flag whatever its version.
func (s *Store) SetFlag(ctx context.Context, name string, enabled bool, now time.Time) error {
	return s.SetFlagIf(ctx, name, enabled, now, precondition.Condition{})
}

// SetFlagIf implements platform.FlagStore. The version the condition was
// checked against is part of the write's own condition (the upsert's
// WHERE), so a writer that raced past the check changes nothing.
func (s *Store) SetFlagIf(ctx context.Context, name string, enabled bool, now time.Time, cond precondition.Condition) error {
	on := 0
	if enabled {
		on = 1
	}
	if !cond.Set() {
		_, err := s.exec(ctx, s.q(`INSERT INTO feature_flags (name, enabled, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at,
				version = feature_flags.version + 1`), name, on, micros(now))
		return classify(err)
	}
	cur, _, err := s.Flag(ctx, name)
	if err != nil {
		return err
	}
	// A known flag always exists (on by default), at version 0 until set.
	if !cond.Holds(true, cur.Version) {
		return cond.Failed(precondition.Name("flag", name))
	}
	res, err := s.exec(ctx, s.q(`INSERT INTO feature_flags (name, enabled, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at,
			version = feature_flags.version + 1
		WHERE feature_flags.version = ?`), name, on, micros(now), cur.Version)
	if err != nil {
		return classify(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return cond.Failed(precondition.Name("flag", name))
	}
	return nil
}

// Flag implements platform.FlagStore.
func (s *Store) Flag(ctx context.Context, name string) (platform.Flag, bool, error) {
	f := platform.Flag{Name: name}
	var on int
	err := s.write.QueryRowContext(ctx, s.q(`SELECT enabled, version FROM feature_flags WHERE name = ?`), name).Scan(&on, &f.Version)
	if err == sql.ErrNoRows {
		return f, false, nil
	}
	f.Enabled = on == 1
	return f, err == nil, classify(err)
}
