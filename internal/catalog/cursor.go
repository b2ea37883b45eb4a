package catalog

import (
	"encoding/base64"
	"strings"

	"github.com/surge-commerce/surge/internal/errcode"
)

// The cursor is opaque to clients so that the keyset it encodes (today the
// last SKU of a page) can change without breaking them.
const cursorPrefix = "v1:"

// EncodeCursor returns the cursor that continues after sku.
func EncodeCursor(sku string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + sku))
}

// DecodeCursor returns the SKU a cursor continues after ("" for the empty
// cursor). Errors: invalid.
func DecodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 200 {
		return "", cursorError()
	}
	sku, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok || !ValidSKU(sku) {
		return "", cursorError()
	}
	return sku, nil
}

func cursorError() error {
	var v errcode.Validation
	v.Add("cursor", "is not a cursor this server issued")
	return v.Err()
}
