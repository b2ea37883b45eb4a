// Package precondition carries a client's If-Match and If-None-Match
// (RFC 9110 §13.1) from the HTTP request into the write it guards. Every
// resource an admin edits has a version that moves on with each change;
// its ETag is "v<version>". The store checks the condition inside the
// write itself (its WHERE clause or its locked read), never in an earlier
// read, so of two writers holding the same version only one wins.
package precondition

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/surge-commerce/surge/internal/errcode"
)

// Condition is what a client expects of a resource before it writes it.
// The zero value expects nothing.
type Condition struct {
	// Match: the resource must exist and, if Versions is not empty, be at
	// one of them (If-Match; "*" leaves Versions empty).
	Match    bool
	Versions []int64
	// Absent: the resource must not exist (If-None-Match: *), a create
	// that never replaces.
	Absent bool
}

// Parse reads the two headers' values. A tag that is not one of ours (or a
// weak one, which never matches strongly, §13.1.1) matches nothing.
func Parse(ifMatch, ifNoneMatch string) Condition {
	var c Condition
	if strings.TrimSpace(ifNoneMatch) == "*" {
		c.Absent = true
	}
	im := strings.TrimSpace(ifMatch)
	if im == "" {
		return c
	}
	c.Match = true
	if im == "*" {
		return c
	}
	for _, tag := range strings.Split(im, ",") {
		tag = strings.TrimSpace(tag)
		if len(tag) < 4 || !strings.HasPrefix(tag, `"v`) || !strings.HasSuffix(tag, `"`) {
			continue
		}
		if v, err := strconv.ParseInt(tag[2:len(tag)-1], 10, 64); err == nil && v >= 0 {
			c.Versions = append(c.Versions, v)
		}
	}
	if len(c.Versions) == 0 {
		// No version is negative, so -1 fails the write as RFC 9110 asks
		// of a list naming none of the current tags.
		c.Versions = []int64{-1}
	}
	return c
}

// ETag is the entity tag of a resource at version v.
func ETag(v int64) string { return `"v` + strconv.FormatInt(v, 10) + `"` }

// Set says whether the client asked for anything.
func (c Condition) Set() bool { return c.Match || c.Absent }

// Holds says whether a resource that exists (or not) at version v meets
// the condition. Stores that lock the row before they write use it.
func (c Condition) Holds(exists bool, v int64) bool {
	if c.Absent && exists {
		return false
	}
	if !c.Match {
		return true
	}
	if !exists {
		return false
	}
	if len(c.Versions) == 0 {
		return true
	}
	for _, want := range c.Versions {
		if want == v {
			return true
		}
	}
	return false
}

// VersionSQL renders the If-Match versions as a condition on column, to
// be appended to a write's WHERE (" AND column IN (?, ...)"), or "" when
// any version will do.
func (c Condition) VersionSQL(column string) (string, []any) {
	if !c.Match || len(c.Versions) == 0 {
		return "", nil
	}
	args := make([]any, len(c.Versions))
	for i, v := range c.Versions {
		args[i] = v
	}
	return " AND " + column + " IN (?" + strings.Repeat(", ?", len(args)-1) + ")", args
}

// Failed is the error of a write whose condition did not hold; what names
// the resource ("sale \"SKU-1\"").
func (c Condition) Failed(what string) error {
	return errcode.Typed(errcode.PreconditionFailed, "precondition_failed",
		"%s is not in the state the request's If-Match or If-None-Match expects", what)
}

// Name quotes a resource's identifier after its kind, for Failed.
func Name(kind, id string) string { return fmt.Sprintf("%s %q", kind, id) }
