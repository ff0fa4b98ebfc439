// Why an AssumeRole was denied: iam:SimulatePrincipalPolicy tells the
// identity policy from the trust policy, and rolevault policy's output gives
// the statement that would allow the call; plus the small error helpers.

package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/rolevault/rolevault/iampolicy"
	"github.com/rolevault/rolevault/plan"
)

// SimulateOutcome is what iam:SimulatePrincipalPolicy said about the
// caller's sts:AssumeRole on the role.
type SimulateOutcome int

// The outcomes of the simulation.
const (
	SimulateRefused  SimulateOutcome = iota // the caller may not simulate (or it failed)
	SimulateAllowed                         // identity policy allows: the trust policy is missing
	SimulateDenied                          // implicitDeny
	SimulateExplicit                        // explicitDeny
)

// MissingSides says which policies may lack the statement after an
// AccessDenied on AssumeRole, given the simulation's outcome.
func MissingSides(o SimulateOutcome) []string {
	switch o {
	case SimulateAllowed:
		return []string{SideTrust}
	case SimulateDenied, SimulateExplicit:
		return []string{SideIdentity}
	}
	return []string{SideTrust, SideIdentity}
}

// ParseDecision maps IAM's EvalDecision to an outcome.
func ParseDecision(d string) SimulateOutcome {
	switch d {
	case "allowed":
		return SimulateAllowed
	case "explicitDeny":
		return SimulateExplicit
	case "implicitDeny":
		return SimulateDenied
	}
	return SimulateRefused
}

func (w *walk) accessDenied(ctx context.Context, i int, step plan.Step, creds aws.Credentials, principal string, mfa bool, msg string) Check {
	c := Check{Check: CheckStep, Step: i, Verdict: Fail}
	outcome, why := w.simulate(ctx, creds, principal, step.RoleARN, mfa)
	c.Missing = MissingSides(outcome)
	switch outcome {
	case SimulateAllowed:
		c.Detail = fmt.Sprintf("AssumeRole %s for profile %s is refused: %s's identity policy allows it (iam:SimulatePrincipalPolicy: allowed), so the role's trust policy is what is missing: it does not trust %s%s", step.RoleARN, step.Profile, principal, principal, mfaNote(mfa))
		c.Next = fmt.Sprintf("add the statement below to the trust policy of %s (aws iam update-assume-role-policy)", step.RoleARN)
	case SimulateDenied, SimulateExplicit:
		kind := "no statement of it allows"
		if outcome == SimulateExplicit {
			kind = "a Deny statement of it refuses"
		}
		c.Detail = fmt.Sprintf("AssumeRole %s for profile %s is refused: the identity policy of %s is what is missing: %s sts:AssumeRole on the role (iam:SimulatePrincipalPolicy: %s)", step.RoleARN, step.Profile, principal, kind, decisionName(outcome))
		c.Next = fmt.Sprintf("add the statement below to an identity policy of %s (for IAM users, their group's policy)", principal)
	default:
		c.Detail = fmt.Sprintf("AssumeRole %s for profile %s is refused (AccessDenied: %s), and doctor cannot tell which side is missing: %s", step.RoleARN, step.Profile, msg, why)
		c.Next = fmt.Sprintf("check both: the trust policy of %s must trust %s, and an identity policy of %s must allow sts:AssumeRole on it; allowing iam:SimulatePrincipalPolicy on %s lets doctor tell them apart", step.RoleARN, principal, principal, principal)
	}
	c.Fixes = w.fixes(step.RoleARN, principal, c.Missing)
	return c
}

func decisionName(o SimulateOutcome) string {
	if o == SimulateExplicit {
		return "explicitDeny"
	}
	return "implicitDeny"
}

func mfaNote(mfa bool) string {
	if mfa {
		return " (with MFA)"
	}
	return ""
}

// simulate asks IAM whether principal's identity policies allow
// sts:AssumeRole on role, with MFA in the request context when the chain
// brings it.
func (w *walk) simulate(ctx context.Context, creds aws.Credentials, principal, role string, mfa bool) (SimulateOutcome, string) {
	client, err := w.in.Provider.IAMClient(w.pl, creds, func(o *iam.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		return SimulateRefused, oneLine(err)
	}
	in := &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(principal),
		ActionNames:     []string{"sts:AssumeRole"},
		ResourceArns:    []string{role},
	}
	if mfa {
		in.ContextEntries = append(in.ContextEntries, iamContextEntry("aws:MultiFactorAuthPresent", "true"))
	}
	out, err := client.SimulatePrincipalPolicy(ctx, in)
	if err != nil {
		code, msg := apiError(err)
		return SimulateRefused, fmt.Sprintf("iam:SimulatePrincipalPolicy on %s was refused (%s: %s)", principal, code, msg)
	}
	for _, r := range out.EvaluationResults {
		if aws.ToString(r.EvalActionName) == "sts:AssumeRole" {
			return ParseDecision(string(r.EvalDecision)), ""
		}
	}
	return SimulateRefused, "iam:SimulatePrincipalPolicy gave no result for sts:AssumeRole"
}

func (w *walk) policyResult() *iampolicy.Result {
	if !w.polDone {
		w.polDone = true
		if w.in.Policies != nil {
			w.policies, w.polErr = w.in.Policies(w.prof)
		}
	}
	return w.policies
}

// fixes picks from 'rolevault policy' the statements that allow
// principal's AssumeRole of role, on the sides named.
func (w *walk) fixes(role, principal string, sides []string) []Fix {
	res := w.policyResult()
	if res == nil {
		return nil
	}
	var out []Fix
	for _, side := range sides {
		switch side {
		case SideTrust:
			for _, ro := range res.Roles {
				if ro.ARN != role {
					continue
				}
				for _, st := range ro.Trust.Statement {
					if slicesContain(st.Action, "sts:AssumeRole") {
						out = append(out, Fix{Policy: SideTrust, AttachTo: "the role " + role, Statement: st, MaxSessionDuration: int64(ro.MaxSessionDuration / time.Second)})
					}
				}
			}
		case SideIdentity:
			for _, id := range res.Identities {
				if !identityFor(id, principal) {
					continue
				}
				for _, st := range id.Policy.Statement {
					if slicesContain(st.Action, "sts:AssumeRole") && slicesContain(st.Resource, role) {
						out = append(out, Fix{Policy: SideIdentity, AttachTo: id.AttachTo(), Statement: st})
					}
				}
			}
		}
	}
	return out
}

func identityFor(id iampolicy.Identity, principal string) bool {
	if id.Kind == "role" {
		return id.ARN == principal
	}
	return strings.Contains(principal, ":iam::"+id.Account+":user/")
}

func slicesContain(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

var assumedRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/`)
})

// assumedRoleARN turns an assumed-role session ARN into its role's ARN
// (without a path, which the session ARN does not carry).
func assumedRoleARN(arn string) string {
	m := assumedRE().FindStringSubmatch(arn)
	if m == nil {
		return ""
	}
	return "arn:" + m[1] + ":iam::" + m[2] + ":role/" + m[3]
}

// unreachable reports a call that never got an answer: refused
// connection, unknown host, timeout.
func unreachable(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return false
	}
	var ue *url.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &de) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "cannot reach") || strings.Contains(s, "connection refused") || strings.Contains(s, "no such host")
}

func unreachableCheck(ep, region string, err error) Check {
	cause := oneLine(err)
	var de *net.DNSError
	var oe *net.OpError
	switch {
	case errors.As(err, &de):
		cause = "the host name does not resolve (" + de.Error() + ")"
	case errors.As(err, &oe):
		cause = oe.Error()
	}
	return Check{Check: CheckEndpoint, Verdict: Fail, Detail: fmt.Sprintf("cannot reach STS at %s (region %s): %s", ep, region, cause),
		Next: "check the network, proxy settings (HTTPS_PROXY), the profile's region and endpoint_url / AWS_ENDPOINT_URL / sts_regional_endpoints"}
}

func apiError(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), strings.TrimSpace(ae.ErrorMessage())
	}
	return "", oneLine(err)
}

func hintOr(err error, def string) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		return h.Hint()
	}
	return def
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// maskKey shows enough of an access key id to recognise it; never a secret.
func maskKey(id string) string {
	if len(id) <= 8 {
		return "****"
	}
	return id[:4] + "****" + id[len(id)-4:]
}

func iamContextEntry(key, value string) iamtypes.ContextEntry {
	return iamtypes.ContextEntry{ContextKeyName: aws.String(key), ContextKeyType: iamtypes.ContextKeyTypeEnumBoolean, ContextKeyValues: []string{value}}
}
