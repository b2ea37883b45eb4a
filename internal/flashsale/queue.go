package flashsale

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
)

// Queue statuses.
const (
	Waiting  = "waiting"
	Admitted = "admitted"
	SoldOut  = "sold_out"
)

// Ticket is a buyer's place in a sale's waiting room.
type Ticket struct {
	Token string `json:"token"`
	SKU   string `json:"sku"`
	// Position is the buyer's place in line; 0 while in the pre-queue.
	Position int64  `json:"position"`
	Status   string `json:"status"`
	// PreQueue is set for a buyer who joined before the sale starts: at
	// the start everyone in the pre-queue gets a random place ahead of
	// later arrivals, so arriving early gains nothing over arriving just
	// before the start. ETA is then the start.
	PreQueue bool `json:"pre_queue,omitempty"`
	// AdmittedUpTo is the last position admitted so far.
	AdmittedUpTo int64 `json:"admitted_up_to"`
	// RetryAfter is when to ask again, in seconds (0 once admitted or sold out).
	RetryAfter int       `json:"retry_after"`
	ETA        time.Time `json:"eta,omitzero"`
}

// QueueStore is what the waiting room needs from persistence.
type QueueStore interface {
	// JoinQueue returns the customer's 1-based place in the sale's queue,
	// adding them at the end on first call with their draw for the
	// pre-queue's shuffle. Errors: not_found.
	JoinQueue(ctx context.Context, shopID int64, sku, customerID string, now time.Time, draw int64) (int64, error)
	// QueuePlace returns the customer's place. Errors: not_found.
	QueuePlace(ctx context.Context, shopID int64, sku, customerID string) (int64, error)
	// ShuffleQueue gives the customers who joined before startsAt the
	// places 1..P in the order of their draws, once per start: a call
	// after the first changes nothing.
	ShuffleQueue(ctx context.Context, shopID int64, sku string, startsAt, now time.Time) error
	// SaleStock returns the units available and reserved across the SKU.
	SaleStock(ctx context.Context, shopID int64, sku string) (available, reserved int64, err error)
}

// admittedUpTo is how many positions the waiting room has let through by
// now: the burst at the start, then the admission rate per second. Every
// replica computes the same number from the sale alone: no shared counter.
func admittedUpTo(sale Sale, now time.Time) int64 {
	if now.Before(sale.StartsAt) {
		return 0
	}
	return sale.AdmissionBurst + int64(now.Sub(sale.StartsAt).Seconds()*float64(sale.AdmissionRate))
}

// Join puts a customer in the waiting room (or finds their place) and
// returns their ticket. A sale that asks a proof of work needs one from a
// customer not yet in its queue. Errors: not_found (no sale or no waiting
// room), forbidden (pow_required, pow_invalid).
func (s *Service) Join(ctx context.Context, shopID int64, sku, customerID string, proof Proof) (Ticket, error) {
	sale, err := s.waitingRoom(ctx, shopID, sku)
	if err != nil {
		return Ticket{}, err
	}
	if err := s.shuffleIfStarted(ctx, shopID, &sale); err != nil {
		return Ticket{}, err
	}
	pos, err := s.queue.QueuePlace(ctx, shopID, sku, customerID)
	if errcode.Is(err, errcode.NotFound) {
		if sale.PowDifficulty > 0 {
			if err := s.CheckProof(proof, shopID, sale, customerID); err != nil {
				return Ticket{}, err
			}
		}
		pos, err = s.queue.JoinQueue(ctx, shopID, sku, customerID, s.now(), randomDraw())
	}
	if err != nil {
		return Ticket{}, err
	}
	return s.ticket(ctx, shopID, sale, customerID, pos)
}

// Status re-reads a ticket. A ticket of the pre-queue is exchanged, once
// the sale starts, for one with the place the shuffle gave. Errors:
// not_found, forbidden (a ticket of another customer or sale),
// unauthorized (forged).
func (s *Service) Status(ctx context.Context, shopID int64, sku, customerID, token string) (Ticket, error) {
	sale, err := s.waitingRoom(ctx, shopID, sku)
	if err != nil {
		return Ticket{}, err
	}
	pos, err := s.verify(token, shopID, sale, customerID)
	if err != nil {
		return Ticket{}, err
	}
	if pos == 0 {
		if err := s.shuffleIfStarted(ctx, shopID, &sale); err != nil {
			return Ticket{}, err
		}
		if pos, err = s.queue.QueuePlace(ctx, shopID, sku, customerID); err != nil {
			return Ticket{}, err
		}
	}
	return s.ticket(ctx, shopID, sale, customerID, pos)
}

// shuffleIfStarted shuffles the pre-queue once the sale has started, if
// no replica has yet.
func (s *Service) shuffleIfStarted(ctx context.Context, shopID int64, sale *Sale) error {
	if sale.QueueShuffled || s.now().Before(sale.StartsAt) {
		return nil
	}
	if err := s.queue.ShuffleQueue(ctx, shopID, sale.SKU, sale.StartsAt, s.now()); err != nil {
		return err
	}
	sale.QueueShuffled = true
	return nil
}

// randomDraw is a pre-queue arrival's lot: unpredictable to clients.
func randomDraw() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> 1)
}

func (s *Service) ticket(ctx context.Context, shopID int64, sale Sale, customerID string, pos int64) (Ticket, error) {
	now := s.now()
	if now.Before(sale.StartsAt) {
		// The pre-queue: no place yet, the shuffle at the start gives one.
		pos = 0
	}
	t := Ticket{Token: s.sign(shopID, sale, customerID, pos), SKU: sale.SKU, Position: pos, AdmittedUpTo: admittedUpTo(sale, now),
		PreQueue: pos == 0}
	avail, reserved, err := s.queue.SaleStock(ctx, shopID, sale.SKU)
	if err != nil {
		return Ticket{}, err
	}
	switch {
	case avail == 0 && reserved == 0:
		t.Status = SoldOut
	case pos == 0:
		t.Status = Waiting
		t.ETA = sale.StartsAt.UTC().Truncate(time.Second)
		t.RetryAfter = min(max(int(sale.StartsAt.Sub(now).Seconds()), 1), 30)
	case pos <= t.AdmittedUpTo:
		t.Status = Admitted
	default:
		t.Status = Waiting
		start := now
		if sale.StartsAt.After(now) {
			start = sale.StartsAt
		}
		wait := time.Duration(float64(pos-t.AdmittedUpTo) / float64(sale.AdmissionRate) * float64(time.Second))
		t.ETA = start.Add(wait).UTC().Truncate(time.Second)
		// Once the sale runs, stock can go at any moment and a waiting
		// buyer must hear it soon: poll at least every 5 s. Before it
		// opens, every 30 s is enough.
		longest := 5
		if sale.StartsAt.After(now) {
			longest = 30
		}
		t.RetryAfter = min(max(int(t.ETA.Sub(now).Seconds()), 1), longest)
	}
	return t, nil
}

// Admit checks, for a checkout, that every SKU sold through a waiting room
// is covered by an admitted ticket of this customer. Errors: forbidden
// (no or foreign ticket), rate_limited (not admitted yet: retry later).
func (s *Service) Admit(ctx context.Context, shopID int64, customerID, token string, skus []string) error {
	for _, sku := range skus {
		sale, err := s.cachedSale(ctx, shopID, sku)
		if err != nil {
			return err
		}
		if sale == nil || sale.AdmissionRate == 0 {
			continue
		}
		pos, err := s.verify(token, shopID, *sale, customerID)
		if err != nil {
			return errcode.Typed(errcode.Forbidden, "queue_ticket_required",
				"%s is sold through a waiting room: join it first (POST /v1/shops/{shop}/sales/%s/queue)", sku, sku).With("sku", sku)
		}
		if pos == 0 {
			if s.now().Before(sale.StartsAt) {
				return errcode.Typed(errcode.Conflict, "sale_not_started", "the sale of %s has not started", sku).
					With("sku", sku).With("starts_at", sale.StartsAt)
			}
			return errcode.Typed(errcode.RateLimited, "not_admitted_yet",
				"your ticket is from before the sale started: ask for its place (GET /v1/shops/{shop}/sales/%s/queue)", sku).With("sku", sku)
		}
		if up := admittedUpTo(*sale, s.now()); pos > up {
			return errcode.Typed(errcode.RateLimited, "not_admitted_yet", "your place in the queue is %d; admitted so far: %d", pos, up).
				With("sku", sku).With("position", pos)
		}
	}
	return nil
}

func (s *Service) waitingRoom(ctx context.Context, shopID int64, sku string) (Sale, error) {
	sale, err := s.store.Sale(ctx, shopID, sku)
	if err != nil {
		return Sale{}, err
	}
	if sale.AdmissionRate == 0 {
		return Sale{}, errcode.Typed(errcode.NotFound, "no_waiting_room", "the sale of %s has no waiting room", sku)
	}
	return sale, nil
}

// ticketPrefix names the ticket format: shop|sku|customer|position|epoch.
const ticketPrefix = "qt2."

func (s *Service) sign(shopID int64, sale Sale, customerID string, pos int64) string {
	body := ticketPrefix + base64.RawURLEncoding.EncodeToString([]byte(
		strconv.FormatInt(shopID, 10)+"|"+sale.SKU+"|"+customerID+"|"+strconv.FormatInt(pos, 10)+"|"+strconv.FormatInt(sale.Epoch, 10)))
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verify checks a ticket's signature and that it belongs to this shop, this
// sale (SKU and epoch) and this customer, so a ticket can be passed neither
// to another buyer nor to a later sale of the same SKU.
func (s *Service) verify(token string, shopID int64, sale Sale, customerID string) (int64, error) {
	i := strings.LastIndexByte(token, '.')
	if !strings.HasPrefix(token, ticketPrefix) || i < 0 || len(token) > 512 || !tokenChars(token) {
		return 0, errcode.New(errcode.Unauthorized, "the queue ticket is invalid")
	}
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(token[:i]))
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
		return 0, errcode.New(errcode.Unauthorized, "the queue ticket is invalid")
	}
	raw, err := base64.RawURLEncoding.DecodeString(token[len(ticketPrefix):i])
	parts := strings.Split(string(raw), "|")
	if err != nil || len(parts) != 5 {
		return 0, errcode.New(errcode.Unauthorized, "the queue ticket is invalid")
	}
	if parts[0] != strconv.FormatInt(shopID, 10) || parts[1] != sale.SKU || parts[2] != customerID ||
		parts[4] != strconv.FormatInt(sale.Epoch, 10) {
		return 0, errcode.New(errcode.Forbidden, "this queue ticket belongs to another customer or sale")
	}
	return strconv.ParseInt(parts[3], 10, 64)
}

// tokenChars reports whether s holds only base64url characters and dots:
// the decoder would skip stray newlines, letting one ticket have many
// spellings.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
