package catalog

import "github.com/surge-commerce/surge/internal/precondition"

// Precondition is what a client expects of a product before it writes it,
// from If-Match and If-None-Match (see package precondition).
type Precondition = precondition.Condition
