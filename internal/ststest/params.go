package ststest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Constraints as AWS's API models state them; the pattern text is quoted in
// error messages exactly as AWS prints it.
var (
	patSessionName = pattern(`[\w+=,.@-]*`)
	patExternalID  = pattern(`[\w+=,.@:\/-]*`)
	patSerial      = pattern(`[\w+=/:,.@-]*`)
	patTokenCode   = pattern(`[\d]*`)
	patTagKey      = pattern(`[\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
	patTagValue    = pattern(`[\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
	patAccessKeyID = pattern(`[\w]+`)
)

type constraint struct {
	text string
	re   *regexp.Regexp
}

func pattern(p string) constraint {
	return constraint{text: p, re: regexp.MustCompile(`^(?:` + p + `)$`)}
}

// str validates an optional string member; required adds the not-null
// check. It returns the value and whether the parameter was sent at all.
func str(v *validation, p url.Values, name, member string, required bool, minLen, maxLen int, pat *constraint) (string, bool) {
	if !p.Has(name) {
		if required {
			v.add(nil, member, "Member must not be null")
		}
		return "", false
	}
	val := p.Get(name)
	checkString(v, val, member, minLen, maxLen, pat)
	return val, true
}

func checkString(v *validation, val, member string, minLen, maxLen int, pat *constraint) {
	n := utf8.RuneCountInString(val)
	if n < minLen {
		v.add(val, member, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	}
	if maxLen > 0 && n > maxLen {
		v.add(val, member, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
	if pat != nil && !pat.re.MatchString(val) {
		v.add(val, member, "Member must satisfy regular expression pattern: "+pat.text)
	}
}

// integer validates an optional integer member within [lo, hi].
func integer(v *validation, p url.Values, name, member string, lo, hi int) (int, bool) {
	if !p.Has(name) {
		return 0, false
	}
	raw := p.Get(name)
	n, err := strconv.Atoi(raw)
	if err != nil {
		v.add(raw, member, "Member must be a valid integer")
		return 0, false
	}
	if n < lo {
		v.add(n, member, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	if n > hi {
		v.add(n, member, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
	return n, true
}

// list reads a Query-protocol list: Name.member.1, Name.member.2, …
func list(p url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		k := fmt.Sprintf("%s.member.%d", name, i)
		if !p.Has(k) {
			return out
		}
		out = append(out, p.Get(k))
	}
}

type tag struct{ key, value string }

func tagsParam(v *validation, p url.Values) []tag {
	var out []tag
	for i := 1; ; i++ {
		kName := fmt.Sprintf("Tags.member.%d.Key", i)
		vName := fmt.Sprintf("Tags.member.%d.Value", i)
		if !p.Has(kName) && !p.Has(vName) {
			break
		}
		t := tag{key: p.Get(kName), value: p.Get(vName)}
		if !p.Has(kName) {
			v.add(nil, fmt.Sprintf("tags.%d.member.key", i), "Member must not be null")
		} else {
			checkString(v, t.key, fmt.Sprintf("tags.%d.member.key", i), 1, 128, &patTagKey)
		}
		if !p.Has(vName) {
			v.add(nil, fmt.Sprintf("tags.%d.member.value", i), "Member must not be null")
		} else {
			checkString(v, t.value, fmt.Sprintf("tags.%d.member.value", i), 0, 256, &patTagValue)
		}
		out = append(out, t)
	}
	if len(out) > 50 {
		v.add(fmt.Sprint(tagsForMessage(out)), "tags", "Member must have length less than or equal to 50")
	}
	return out
}

func tagsForMessage(tags []tag) string {
	parts := make([]string, len(tags))
	for i, t := range tags {
		parts[i] = "Tag(Key=" + t.key + ", Value=" + t.value + ")"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// sessionPolicy holds the session-policy parameters shared by AssumeRole*,
// and GetFederationToken.
type sessionPolicy struct {
	policy     string
	policyArns []string
	tags       []tag
	transitive []string
}

func policyParams(v *validation, p url.Values) sessionPolicy {
	var sp sessionPolicy
	sp.policy, _ = str(v, p, "Policy", "policy", false, 1, 2048, nil)
	for i := 1; ; i++ {
		k := fmt.Sprintf("PolicyArns.member.%d.arn", i)
		if !p.Has(k) {
			break
		}
		a := p.Get(k)
		checkString(v, a, fmt.Sprintf("policyArns.%d.member.arn", i), 20, 2048, nil)
		sp.policyArns = append(sp.policyArns, a)
	}
	if len(sp.policyArns) > 10 {
		v.add("["+strings.Join(sp.policyArns, ", ")+"]", "policyArns", "Member must have length less than or equal to 10")
	}
	return sp
}

// checkPolicy applies the checks AWS makes after field validation: JSON
// syntax, tag-key rules, and the packed size that limits policy plus tags.
// It returns the PackedPolicySize percentage, or -1 when nothing was
// packed (AWS then omits the element).
func (sp *sessionPolicy) check(inherited map[string]string, inheritedTransitive []string) (int, *apiError) {
	if sp.policy != "" && !json.Valid([]byte(sp.policy)) {
		return 0, newError(http.StatusBadRequest, "MalformedPolicyDocument", "The policy is not in the valid JSON format.")
	}
	seen := map[string]bool{}
	for _, t := range sp.tags {
		k := strings.ToLower(t.key)
		if seen[k] {
			return 0, errInvalidParameter("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	for _, k := range sp.transitive {
		if !seen[strings.ToLower(k)] {
			return 0, errInvalidParameter("The specified transitive tag key must be included in the requested tags.")
		}
	}
	for _, k := range inheritedTransitive {
		if seen[strings.ToLower(k)] {
			return 0, errInvalidParameter("One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.")
		}
	}
	if sp.policy == "" && len(sp.policyArns) == 0 && len(sp.tags) == 0 && len(inherited) == 0 {
		return -1, nil
	}
	// AWS does not publish its packing; this approximation grows with the
	// same inputs so that oversized policies fail the way they do on AWS.
	size := len(compactJSON(sp.policy)) + 64*len(sp.policyArns)
	for _, t := range sp.tags {
		size += len(t.key) + len(t.value) + 8
	}
	for k, v := range inherited {
		size += len(k) + len(v) + 8
	}
	pct := int(math.Ceil(float64(size) * 100 / 2048))
	if pct > 100 {
		return 0, newError(http.StatusBadRequest, "PackedPolicyTooLarge",
			"Packed policy consumes %d%% of allotted space, please use smaller policy.", pct)
	}
	return pct, nil
}

func compactJSON(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	inStr, esc := false, false
	for _, r := range s {
		switch {
		case esc:
			esc = false
		case inStr && r == '\\':
			esc = true
		case r == '"':
			inStr = !inStr
		case !inStr && (r == ' ' || r == '\n' || r == '\t' || r == '\r'):
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func tagMap(tags []tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.key] = t.value
	}
	return m
}
