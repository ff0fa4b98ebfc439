package credentials

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

// ProviderError is a failure to get credentials, phrased for a person: Err is
// the one-line "what is wrong", Hint the "what to do".
type ProviderError struct {
	Err      error
	HintLine string
	// Cause is AWS's own error underneath, when Err only quotes it, so a
	// caller can still ask for its code (errors.As a smithy.APIError).
	Cause error
}

func (e *ProviderError) Error() string { return e.Err.Error() }

// Unwrap gives Err and, when set, Cause.
func (e *ProviderError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// Hint is the second line the CLI prints under the error.
func (e *ProviderError) Hint() string { return e.HintLine }

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return strings.TrimSpace(ae.ErrorMessage())
	}
	return err.Error()
}

// isMFARejection reports whether STS refused the MFA code itself, the one
// failure worth asking a person again for.
func isMFARejection(err error) bool {
	return apiCode(err) == "AccessDenied" && strings.Contains(strings.ToLower(apiMessage(err)), "multifactorauthentication")
}

// requestNeverSent reports whether a failed call shows that its request never
// reached AWS: the name did not resolve, no connection (or proxy tunnel) was
// made, or TLS failed (a refused certificate, or a server that does not
// speak TLS).
func requestNeverSent(err error) bool {
	var dns *net.DNSError
	var oe *net.OpError
	var cert *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	var pe *ProviderError // no HTTP client could be built (a bad AWS_CA_BUNDLE)
	return errors.As(err, &dns) || errors.As(err, &cert) || errors.As(err, &rec) || errors.As(err, &pe) ||
		(errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "proxyconnect")) ||
		// net/http's text for a RecordHeaderError in the handshake
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// codeMayBeUsed reports whether a failed call that carried an MFA code may
// have reached AWS and used the code up. Only two outcomes say it did not: a
// clear refusal from STS (a 4xx error document, which names its reason) and
// a request that never left. A 5xx, a timeout, a reset or a reply that
// cannot be read leave it open.
func codeMayBeUsed(err error) bool {
	if err == nil || requestNeverSent(err) || errors.Is(err, context.Canceled) {
		return false
	}
	if status := responseStatus(err); status != 0 {
		return status >= 500
	}
	return true // no reply, or one that could not be read
}

// mfaCodeLostError is a call carrying an MFA code that failed after it may
// have reached AWS: the code may be used up although no credentials came
// back.
type mfaCodeLostError struct{ err error }

func (e *mfaCodeLostError) Error() string { return e.err.Error() }
func (e *mfaCodeLostError) Unwrap() error { return e.err }

// mfaCodeUsedError is STS rejecting an MFA code after a call whose reply was
// lost: most likely that call used the code (or its time step), so the
// person did nothing wrong.
type mfaCodeUsedError struct{ err error }

func (e *mfaCodeUsedError) Error() string { return e.err.Error() }
func (e *mfaCodeUsedError) Unwrap() error { return e.err }

// explainCodeLoss phrases the two MFA failures that follow a lost reply, or
// returns nil for any other error.
func explainCodeLoss(what string, step plan.Step, err error) error {
	var lost *mfaCodeLostError
	var used *mfaCodeUsedError
	switch {
	case errors.As(err, &lost):
		how := fmt.Sprintf("the reply from STS was lost (%v)", rootCause(lost.err))
		if status := responseStatus(lost.err); status != 0 {
			how = fmt.Sprintf("STS failed (%s: %s)", orStatus(apiCode(lost.err), status), apiMessage(lost.err))
		}
		return &ProviderError{Err: fmt.Errorf("%s: %s, and AWS may have used the MFA code for %s", what, how, step.MFASerial),
			HintLine: "wait for the next code from that device and run the command again; rolevault never sends a code twice, since AWS accepts each code once"}
	case errors.As(err, &used):
		return &ProviderError{Err: fmt.Errorf("%s: AWS refused the MFA code for %s (%s); after the lost reply before it, it may have been used already", what, step.MFASerial, apiCode(used.err)),
			HintLine: "wait until the device shows a new code, then run the command again"}
	}
	return nil
}

// responseStatus is the HTTP status of the reply a failed call got, 0 when
// none arrived.
func responseStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func orStatus(code string, status int) string {
	if code != "" {
		return code
	}
	return fmt.Sprintf("HTTP %d", status)
}

// explainSTSError rewrites an STS failure as one line naming what failed and
// the AWS error code, with a hint saying what to do. Nil stays nil.
func (p *Provider) explainSTSError(ctx context.Context, pl *plan.Plan, step plan.Step, src aws.Credentials, srcKey string, err error) error {
	e := p.explainSTSErrorText(ctx, pl, step, src, srcKey, err)
	// Not when err already holds a ProviderError (returned as it is): that
	// would make the chain of causes a loop.
	var pe, inner *ProviderError
	if !errors.As(err, &inner) && errors.As(e, &pe) && pe.Cause == nil {
		pe.Cause = err
	}
	return e
}

func (p *Provider) explainSTSErrorText(ctx context.Context, pl *plan.Plan, step plan.Step, src aws.Credentials, srcKey string, err error) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("%s for profile %q", step.Kind, step.Profile)
	if step.Kind == plan.StepAssumeRole {
		what = fmt.Sprintf("AssumeRole %s for profile %q", step.RoleARN, step.Profile)
	}
	if ctx.Err() != nil {
		if isInterruption(err) {
			return err // names the prompt that was interrupted
		}
		return keychain.InterruptedWhile(ctx, "waiting for AWS STS to answer "+what)
	}
	var already *ProviderError
	if errors.As(err, &already) {
		return already // already phrased for a person (a prompt, a bad CA bundle)
	}
	code, msg := apiCode(err), apiMessage(err)
	if e := explainCodeLoss(what, step, err); e != nil {
		return e
	}
	if code == "" {
		var ne net.Error
		var oe *net.OpError
		if errors.As(err, &oe) || errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
			ep := stsEndpoint(pl, planRegion(pl))
			if ep == "" {
				ep = "the STS endpoint for " + planRegion(pl)
			}
			return &ProviderError{Err: fmt.Errorf("%s: cannot reach %s: %v", what, ep, rootCause(err)),
				HintLine: "check your network or proxy settings, and endpoint_url / AWS_ENDPOINT_URL if you set one"}
		}
		return &ProviderError{Err: fmt.Errorf("%s: %v", what, err), HintLine: "run with --debug for details"}
	}

	// A cached session used as the source was refused: let Retrieve drop it
	// and start again from the keys.
	if srcKey != "" && (code == "ExpiredToken" || code == "InvalidClientTokenId") {
		return &staleSessionError{key: srcKey, err: err}
	}

	switch {
	case isMFARejection(err):
		return &ProviderError{Err: fmt.Errorf("%s: MFA code for %s was rejected (%s: %s)", what, step.MFASerial, code, msg),
			HintLine: "use the current code from the device registered as " + step.MFASerial + "; AWS accepts each code only once, so wait for the next one if you just used it"}
	case code == "ExpiredToken":
		return &ProviderError{Err: fmt.Errorf("%s: the source credentials have expired (%s: %s)", what, code, msg),
			HintLine: "run 'rolevault clear' and try again; if the keys come from credential_process or the credentials file, refresh them there"}
	case code == "InvalidClientTokenId":
		return &ProviderError{Err: fmt.Errorf("%s: AWS does not recognise access key %s (%s: %s)", what, mask(src.AccessKeyID), code, msg),
			HintLine: fmt.Sprintf("the key may have been deleted or rotated elsewhere: store a current one with 'rolevault add %s'", sourceProfile(pl))}
	case code == "SignatureDoesNotMatch":
		if strings.Contains(msg, "expired") || strings.Contains(msg, "Signature not yet current") {
			return &ProviderError{Err: fmt.Errorf("%s: the request's time is off from AWS's (%s: %s)", what, code, msg),
				HintLine: "set this machine's clock (AWS allows 5 minutes of skew)"}
		}
		return &ProviderError{Err: fmt.Errorf("%s: the secret key does not match access key %s (%s)", what, mask(src.AccessKeyID), code),
			HintLine: fmt.Sprintf("store the right secret with 'rolevault add %s'", sourceProfile(pl))}
	case code == "AccessDenied" && step.Kind == plan.StepAssumeRole:
		caller := p.callerARN(ctx, pl, src)
		mfaNote := ""
		if step.MFASerial == "" && !planUsesMFA(pl) {
			mfaNote = "; if the trust policy requires MFA (aws:MultiFactorAuthPresent), set mfa_serial in the profile"
		}
		return &ProviderError{Err: fmt.Errorf("%s: %s is not allowed to assume it (%s: %s)", what, caller, code, msg),
			HintLine: fmt.Sprintf("two policies must allow it: the trust policy of %s must trust %s (or its account), and %s's IAM policy must allow sts:AssumeRole on %s%s",
				step.RoleARN, caller, caller, step.RoleARN, mfaNote)}
	case code == "AccessDenied" && step.Kind == plan.StepGetSessionToken && strings.Contains(msg, "session credentials"):
		return &ProviderError{Err: fmt.Errorf("%s: GetSessionToken needs long-term IAM user keys, but the source gives session credentials (%s)", what, code),
			HintLine: "run with --no-session, or store the IAM user's long-term keys with 'rolevault add'"}
	case code == "ValidationError" && strings.Contains(msg, "DurationSeconds"):
		return &ProviderError{Err: fmt.Errorf("%s: duration %s refused (%s: %s)", what, step.Duration, code, msg),
			HintLine: "ask for a shorter session with --duration or duration_seconds; role chaining allows at most 1h, and a role's MaxSessionDuration caps the rest"}
	}
	return &ProviderError{Err: fmt.Errorf("%s failed (%s: %s)", what, code, msg), HintLine: "run with --debug for details"}
}

// callerARN asks STS who the source credentials belong to, to name them in an
// AccessDenied message. It is only called on that error path.
func (p *Provider) callerARN(ctx context.Context, pl *plan.Plan, src aws.Credentials) string {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := p.stsClient(pl, &src).GetCallerIdentity(cctx, &sts.GetCallerIdentityInput{})
	if err != nil || out.Arn == nil {
		return "the credentials of profile " + sourceProfile(pl)
	}
	return *out.Arn
}

func planUsesMFA(pl *plan.Plan) bool {
	for _, s := range pl.Steps {
		if s.MFASerial != "" {
			return true
		}
	}
	return false
}

func sourceProfile(pl *plan.Plan) string {
	if len(pl.Steps) > 0 {
		return pl.Steps[0].Profile
	}
	return pl.Profile.Name
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// isInterruption reports whether err is a prompt's account of being
// interrupted (prompt.InterruptedError, which says what it was asking for
// and the exit status), which is better than the bare context error.
func isInterruption(err error) bool {
	var ie interface{ ExitCode() int }
	return errors.As(err, &ie)
}
