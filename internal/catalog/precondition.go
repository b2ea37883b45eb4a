package catalog

import "github.com/surge-commerce/surge/internal/errcode"

// Precondition is what a client expects of a product before it writes it,
// from If-Match and If-None-Match. The store checks it inside the write's
// transaction, so two writers holding the same version cannot both win.
// The zero value expects nothing.
type Precondition struct {
	// Match: the product must exist and, if Versions is not empty, be at
	// one of them (If-Match; "*" leaves Versions empty).
	Match    bool
	Versions []int64
	// Absent: the product must not exist (If-None-Match: *), a create
	// that never replaces.
	Absent bool
}

// Failed is the error of a write whose precondition did not hold.
func (c Precondition) Failed(sku string) error {
	return errcode.Typed(errcode.PreconditionFailed, "precondition_failed",
		"product %q is not in the state the request's If-Match or If-None-Match expects", sku)
}
