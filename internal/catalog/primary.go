package catalog

import "context"

type primaryKey struct{}

// FromPrimary marks ctx so that the store reads from the primary database
// even when catalog reads may go to a replica: a shop's admin reads its
// own writes, whatever a replica has replayed so far.
func FromPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, primaryKey{}, true)
}

// ReadsPrimary reports whether ctx was marked by FromPrimary.
func ReadsPrimary(ctx context.Context) bool {
	v, _ := ctx.Value(primaryKey{}).(bool)
	return v
}
