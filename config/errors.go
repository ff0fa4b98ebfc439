package config

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for the ways a config can be wrong. Every error Load,
// Resolve and NewPlan return for a bad config is a *ConfigError that matches
// exactly one of these with errors.Is, so callers branch on the kind while the
// message carries the details.
var (
	ErrProfileNotFound             = errors.New("profile not found")
	ErrSourceProfileNotFound       = errors.New("source_profile not found")
	ErrIncludeProfileNotFound      = errors.New("include_profile not found")
	ErrSSOSessionNotFound          = errors.New("sso-session not found")
	ErrSourceProfileCycle          = errors.New("source_profile cycle")
	ErrIncludeProfileCycle         = errors.New("include_profile cycle")
	ErrInvalidRoleARN              = errors.New("invalid role ARN")
	ErrInvalidDuration             = errors.New("invalid duration")
	ErrInvalidValue                = errors.New("invalid value")
	ErrMalformedConfig             = errors.New("malformed config file")
	ErrUnreadableConfig            = errors.New("unreadable config file")
	ErrUnsupportedCredentialSource = errors.New("unsupported credential_source")
	ErrMissingCredentialSource     = errors.New("role has no credential source")
	ErrConflictingKeySources       = errors.New("conflicting key sources")
	ErrIncompleteSSO               = errors.New("incomplete SSO settings")
)

// ConfigError is a config problem located as precisely as we can: the file
// and line, the profile and the key (or the environment variable or flag the
// value came from). Error is one line; Hint is the line that says what to do,
// which the CLI prints underneath.
type ConfigError struct {
	Kind    error  // one of the Err* sentinels above
	File    string // config or credentials file; empty when the value came from env/flags
	Line    int    // 1-based; 0 when unknown
	Profile string
	Key     string // config key, or the env var / flag name when File is empty
	Msg     string // what is wrong, without the location
	Advice  string // what to do about it
	Err     error  // underlying cause (an *os.PathError, an ini parse error), if any
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Profile != "" {
		fmt.Fprintf(&b, "profile %q: ", clip(e.Profile))
	}
	if e.Key != "" && !strings.Contains(e.Msg, e.Key) {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return clipWords(b.String())
}

// Hint says what the user should do; the CLI prints it on a second line.
func (e *ConfigError) Hint() string { return clipWords(e.Advice) }

// Is matches the error's kind, so errors.Is(err, ErrProfileNotFound) works
// through any amount of wrapping.
func (e *ConfigError) Is(target error) bool { return target == e.Kind }

// Unwrap exposes the underlying cause, so errors.Is(err, fs.ErrPermission)
// still works on an unreadable file.
func (e *ConfigError) Unwrap() error { return e.Err }

// suggest returns the candidate closest to name by edit distance, or "" when
// nothing is close enough to be a plausible typo. It runs only on the error
// path, so a linear scan over every profile is fine even for big configs.
func suggest(name string, candidates []string) string {
	// Edit distance is quadratic: no suggestions for names no one types.
	if len(name) > maxQuoted {
		return ""
	}
	best, bestD := "", -1
	limit := max(2, len(name)/3) // typos, not unrelated names
	lname := strings.ToLower(name)
	for _, c := range candidates {
		if c == name || len(c) > maxQuoted+limit {
			continue
		}
		d := editDistance(lname, strings.ToLower(c), limit)
		if d <= limit && (bestD < 0 || d < bestD || (d == bestD && c < best)) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, giving up early
// (returning limit+1) once it cannot be within limit: most candidates in a
// large config are far away and should cost almost nothing.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// maxQuoted is how much of a value an error message quotes.
const maxQuoted = 100

// maxQuotedLine is how much of an unparsable line a message quotes.
const maxQuotedLine = 60

// clip cuts a value quoted in a message to a readable length, on a rune
// boundary: a config value can be megabytes, a message is one line.
func clip(s string) string { return clipTo(s, maxQuoted) }

// clipTo is clip with a limit of max runes.
func clipTo(s string, max int) string {
	if len(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// maxWord is the longest blank-free run a message keeps: longer than any
// sensible path, far shorter than a value gone wrong.
const maxWord = 300

// clipWords clips every blank-free run of s longer than maxWord, so a
// message stays readable whatever value or name it quotes. Messages clip
// their values themselves; this is the net under names and paths.
func clipWords(s string) string {
	if len(s) <= maxWord {
		return s
	}
	var b strings.Builder
	for i, w := range strings.Split(s, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		if len(w) > maxWord {
			w = clip(w)
		}
		b.WriteString(w)
	}
	return b.String()
}
