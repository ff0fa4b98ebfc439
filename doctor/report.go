// Package doctor walks a profile's credential chain live, one check at a
// time, and says for each whether it works (ok), works but deserves
// attention (warn), could not be checked (skip) or fails (fail), with the
// next step for each failure. It imports the domain packages, never cli;
// cli/doctor.go wires it and prints the report.
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/rolevault/rolevault/iampolicy"
)

// Verdict is a check's outcome.
type Verdict string

// The verdicts. Only Fail makes the report fail.
const (
	OK   Verdict = "ok"
	Warn Verdict = "warn"
	Skip Verdict = "skip" // the check could not be made (IAM would not say); not a failure
	Fail Verdict = "fail"
)

// The checks, in the order they run. A step check repeats once per STS
// step of the chain.
const (
	CheckConfig    = "config"
	CheckKey       = "key"
	CheckEndpoint  = "endpoint"
	CheckClock     = "clock"
	CheckCaller    = "caller"
	CheckKeyAge    = "key-age"
	CheckMFASerial = "mfa-serial"
	CheckStep      = "step"
	CheckDuration  = "duration"
)

// The two sides of an AssumeRole, for Check.Missing.
const (
	SideTrust    = "trust-policy"
	SideIdentity = "identity-policy"
)

// Check is one line of the report.
type Check struct {
	Check   string  `json:"check"`
	Step    int     `json:"step,omitempty"` // the plan step (1-based, the key source is 0) for step checks
	Verdict Verdict `json:"verdict"`
	Detail  string  `json:"detail"`
	Next    string  `json:"next,omitempty"`
	// Missing names the policies that may lack a statement after an
	// AccessDenied: one when iam:SimulatePrincipalPolicy could tell, both
	// when it could not.
	Missing []string `json:"missing,omitempty"`
	// Fixes are the statements 'rolevault policy' generates for the call.
	Fixes []Fix `json:"fixes,omitempty"`
}

// Fix is a statement that would allow a refused call, and where it goes.
type Fix struct {
	Policy    string              `json:"policy"` // trust-policy or identity-policy
	AttachTo  string              `json:"attach_to"`
	Statement iampolicy.Statement `json:"statement"`
	// MaxSessionDuration is the role setting the chain needs, for trust
	// policy fixes (seconds).
	MaxSessionDuration int64 `json:"max_session_duration,omitempty"`
}

// Report is the whole result; its JSON form is the --json output.
type Report struct {
	Profile string  `json:"profile"`
	OK      bool    `json:"ok"`
	Checks  []Check `json:"checks"`
}

func (r *Report) add(c Check) *Check {
	r.Checks = append(r.Checks, c)
	return &r.Checks[len(r.Checks)-1]
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Verdict == Fail {
			return true
		}
	}
	return false
}

// JSON is the report as an indented JSON document ending in a newline.
func (r *Report) JSON() []byte {
	out := *r
	out.OK = !r.Failed()
	if out.Checks == nil {
		out.Checks = []Check{}
	}
	b, _ := json.MarshalIndent(out, "", "  ") // plain data: cannot fail
	return append(b, '\n')
}

// WriteText prints the report for a person: one line per check, the next
// step and any statements under it, and a count at the end.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "rolevault doctor %s\n", r.Profile)
	counts := map[Verdict]int{}
	for _, c := range r.Checks {
		counts[c.Verdict]++
		name := c.Check
		if c.Step > 0 {
			name = fmt.Sprintf("%s %d", c.Check, c.Step)
		}
		fmt.Fprintf(w, "  %-4s  %-11s %s\n", c.Verdict, name, c.Detail)
		if c.Next != "" {
			fmt.Fprintf(w, "        next: %s\n", c.Next)
		}
		for _, f := range c.Fixes {
			fmt.Fprintf(w, "        statement for the %s of %s:\n", strings.ReplaceAll(f.Policy, "-", " "), f.AttachTo)
			b, _ := json.MarshalIndent(f.Statement, "          ", "  ")
			fmt.Fprintf(w, "          %s\n", b)
			if f.MaxSessionDuration > 0 {
				fmt.Fprintf(w, "          (and MaxSessionDuration of at least %d seconds)\n", f.MaxSessionDuration)
			}
		}
	}
	verdict := "every step works"
	if r.Failed() {
		verdict = "a step fails"
	}
	fmt.Fprintf(w, "%s: %d ok, %d warning(s), %d skipped, %d failure(s)\n", verdict, counts[OK], counts[Warn], counts[Skip], counts[Fail])
}
