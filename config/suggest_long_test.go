package config

import (
	"strings"
	"testing"
)

// suggest skips names longer than maxQuoted: edit distance is quadratic, and
// a 100k-character profile name (a pasted file, a script gone wrong) must
// not cost seconds of CPU before the error is printed. The test does not
// time anything: a skipped name makes suggest return "" without copying
// the name or running editDistance, so it allocates nothing at all, while
// any comparison lower-cases the name and builds rune slices and rows.
func TestSuggestSkipsLongNames(t *testing.T) {
	for _, n := range []int{maxQuoted + 1, 5_000, 100_000} {
		// Upper case, so comparing would have to copy it (ToLower).
		long := strings.Repeat("P", n)
		// One edit away, in both cases: the best possible match if names
		// this long were compared at all.
		near := long[:n-1] + "Q"
		cands := []string{"prod", strings.ToLower(near), near, strings.ToLower(long)[:n-1]}
		if got := suggest(long, cands); got != "" {
			t.Errorf("%d-character name: suggested a %d-character name", n, len(got))
		}
		if a := testing.AllocsPerRun(5, func() { suggest(long, cands) }); a != 0 {
			t.Errorf("%d-character name: suggest allocated %.0f times; it should not compare names over %d characters at all", n, a, maxQuoted)
		}
	}
	// At the limit a near miss is still suggested, so the test above is
	// about the length and nothing else.
	at := strings.Repeat("p", maxQuoted)
	if got := suggest(at, []string{at[:maxQuoted-1] + "q"}); got == "" {
		t.Errorf("%d-character name: no suggestion for a one-letter typo", maxQuoted)
	}
}
