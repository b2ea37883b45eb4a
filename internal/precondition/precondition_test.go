package precondition

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		ifMatch, ifNoneMatch string
		want                 Condition
	}{
		{"", "", Condition{}},
		{"*", "", Condition{Match: true}},
		{"", "*", Condition{Absent: true}},
		{`"v3"`, "", Condition{Match: true, Versions: []int64{3}}},
		{`"v0", "v7"`, "", Condition{Match: true, Versions: []int64{0, 7}}},
		{`W/"v3"`, "", Condition{Match: true, Versions: []int64{-1}}}, // weak never matches strongly
		{`"abc", "v-2"`, "", Condition{Match: true, Versions: []int64{-1}}},
	} {
		got := Parse(tc.ifMatch, tc.ifNoneMatch)
		if got.Match != tc.want.Match || got.Absent != tc.want.Absent || !slices.Equal(got.Versions, tc.want.Versions) {
			t.Errorf("Parse(%q, %q) = %+v, want %+v", tc.ifMatch, tc.ifNoneMatch, got, tc.want)
		}
	}
}

func TestHolds(t *testing.T) {
	match := func(v ...int64) Condition { return Condition{Match: true, Versions: v} }
	for _, tc := range []struct {
		c       Condition
		exists  bool
		version int64
		want    bool
	}{
		{Condition{}, false, 0, true},
		{Condition{}, true, 4, true},
		{Condition{Match: true}, true, 4, true},
		{Condition{Match: true}, false, 0, false},
		{Condition{Absent: true}, false, 0, true},
		{Condition{Absent: true}, true, 1, false},
		{match(4), true, 4, true},
		{match(3), true, 4, false},
		{match(3, 4), true, 4, true},
		{match(4), false, 0, false},
		{match(-1), true, 0, false},
	} {
		if got := tc.c.Holds(tc.exists, tc.version); got != tc.want {
			t.Errorf("%+v.Holds(%v, %d) = %v, want %v", tc.c, tc.exists, tc.version, got, tc.want)
		}
	}
}

func TestVersionSQL(t *testing.T) {
	if where, args := (Condition{Match: true}).VersionSQL("version"); where != "" || args != nil {
		t.Errorf("If-Match: * = %q %v", where, args)
	}
	where, args := Parse(`"v2", "v5"`, "").VersionSQL("t.version")
	if where != " AND t.version IN (?, ?)" || len(args) != 2 || args[0] != int64(2) || args[1] != int64(5) {
		t.Errorf("got %q %v", where, args)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`"v1"`, `*`, `W/"v2", "v3"`, `"v9223372036854775807"`, `""`} {
		f.Add(s, "*")
	}
	f.Fuzz(func(t *testing.T, ifMatch, ifNoneMatch string) {
		c := Parse(ifMatch, ifNoneMatch)
		if c.Match && len(c.Versions) == 0 && ifMatch != "*" && len(ifMatch) > 0 {
			// Only "*" (trimmed) may match every version.
			if trimmed := strings.TrimSpace(ifMatch); trimmed != "*" {
				t.Fatalf("If-Match %q matches any version", ifMatch)
			}
		}
		for _, v := range c.Versions {
			if v < -1 {
				t.Fatalf("version %d from %q", v, ifMatch)
			}
		}
	})
}
