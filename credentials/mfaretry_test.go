package credentials

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/internal/ststest"
	"github.com/rolevault/rolevault/plan"
)

// A one-time code sent in a call whose reply is lost may be used up at AWS.
// These tests lose replies with the emulator, which, like AWS, accepts a code
// once.

// sessionPlan is login's MFA session alone.
func (w *world) sessionPlan(serial string) *plan.Plan {
	return &plan.Plan{
		Profile: &config.Profile{Name: "login"}, EndpointURL: w.url, Region: "us-east-1",
		Steps: []plan.Step{
			{Kind: plan.StepStoredKeys, Profile: "login"},
			{Kind: plan.StepGetSessionToken, Profile: "login", MFASerial: serial, Duration: time.Hour,
				CacheKey: plan.SessionKey(plan.StepGetSessionToken, "login", serial, "1h", "stored-keys:login")},
		},
	}
}

// codeAt is alice's code steps 30-second steps from the emulator's now.
func (w *world) codeAt(steps int) string {
	return ststest.TOTP(w.totp, w.sts.Now().Add(time.Duration(steps)*30*time.Second))
}

// codesSent counts, per MFA code, the requests for action that carried it.
func (w *world) codesSent(action string) map[string]int {
	n := map[string]int{}
	for _, c := range w.sts.History() {
		if c.Action == action && c.TokenCode != "" {
			n[c.TokenCode]++
		}
	}
	return n
}

// fixedSource gives one code and cannot be asked again, like --mfa-token or
// mfa_process.
func (w *world) fixedSource(asked *[]MFARequest) func(context.Context, MFARequest) (string, error) {
	code := w.codeAt(0)
	return func(_ context.Context, req MFARequest) (string, error) {
		*asked = append(*asked, req)
		if req.Rejected != nil || req.Lost != nil {
			return "", ErrNoRetry
		}
		return code, nil
	}
}

func wantLostCodeError(t *testing.T, err error, serial string) {
	t.Helper()
	var pe *ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a ProviderError", err, err)
	}
	msg := pe.Error()
	if !strings.Contains(msg, "AWS may have used the MFA code for "+serial) || strings.Contains(msg, "rejected") ||
		strings.Contains(msg, "\n") || !strings.Contains(pe.Hint(), "wait for the next code") {
		t.Fatalf("error %q / hint %q: want one line saying the code may be used up, and to wait for the next", msg, pe.Hint())
	}
}

// The SDK's own retry would send the used code again and AWS would refuse it
// as invalid; rolevault sends it once and says what happened.
func TestLostReplyDoesNotResendTheCode(t *testing.T) {
	for _, tc := range []struct {
		name, action string
		lose         func(s *ststest.Server, action string)
		plan         func(w *world) *plan.Plan
		cause        string
	}{
		{"GetSessionToken, connection closed", "GetSessionToken",
			func(s *ststest.Server, a string) { s.LoseReply(a, 1) },
			func(w *world) *plan.Plan { return w.sessionPlan(w.serial) }, "the reply from STS was lost (EOF)"},
		{"GetSessionToken, 500 after the call took effect", "GetSessionToken",
			func(s *ststest.Server, a string) {
				s.FailAfter(a, "InternalFailure", "An internal error has occurred", 1)
			},
			func(w *world) *plan.Plan { return w.sessionPlan(w.serial) }, "STS failed (InternalFailure: An internal error has occurred)"},
		{"AssumeRole with a code", "AssumeRole",
			func(s *ststest.Server, a string) { s.LoseReply(a, 1) },
			func(w *world) *plan.Plan {
				return &plan.Plan{Profile: &config.Profile{Name: "prod"}, EndpointURL: w.url, Region: "us-east-1", Steps: []plan.Step{
					{Kind: plan.StepStoredKeys, Profile: "login"},
					{Kind: plan.StepAssumeRole, Profile: "prod", RoleARN: prodRole, RoleSessionName: "alice", MFASerial: w.serial,
						Duration: time.Hour, CacheKey: plan.SessionKey(plan.StepAssumeRole, "prod", prodRole, "mfa", "stored-keys:login")},
				}}
			}, "the reply from STS was lost (EOF)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			var asked []MFARequest
			w.mfaSource = w.fixedSource(&asked)
			tc.lose(w.sts, tc.action)
			_, err := w.provider().Retrieve(context.Background(), tc.plan(w))
			wantLostCodeError(t, err, w.serial)
			if !strings.Contains(err.Error(), tc.cause) {
				t.Fatalf("error %q does not say %q", err, tc.cause)
			}
			if n := w.sts.Calls(tc.action); n != 1 {
				t.Fatalf("%s reached the emulator %d times, want 1: a code is sent once", tc.action, n)
			}
			if sent := w.codesSent(tc.action); len(sent) != 1 {
				t.Fatalf("codes sent: %d distinct, want 1", len(sent))
			}
			if len(asked) != 2 || asked[1].Lost == nil || asked[1].Rejected != nil {
				t.Fatalf("asks %+v: want the source asked once more, told the reply was lost", asked)
			}
		})
	}
}

// A person at a prompt is asked for the next code, and the call succeeds
// with it: two calls, two different codes, each sent once.
func TestLostReplyAsksForTheNextCode(t *testing.T) {
	w := newWorld(t)
	var asked []MFARequest
	w.mfaSource = func(_ context.Context, req MFARequest) (string, error) {
		asked = append(asked, req)
		return w.codeAt(len(asked) - 1), nil // the code shown now, then the next one
	}
	w.sts.LoseReply("GetSessionToken", 1)
	creds, err := w.provider().Retrieve(context.Background(), w.sessionPlan(w.serial))
	must(t, err)
	if s, ok := w.sts.Session(creds.AccessKeyID); !ok || !s.MFA {
		t.Fatalf("credentials %s are not an MFA session the emulator issued", creds.AccessKeyID)
	}
	if len(asked) != 2 || asked[1].Lost == nil || asked[1].Rejected != nil || asked[1].Attempt != 2 {
		t.Fatalf("asks %+v: want a second ask that says the reply was lost", asked)
	}
	sent := w.codesSent("GetSessionToken")
	if w.sts.Calls("GetSessionToken") != 2 || len(sent) != 2 || sent[w.codeAt(0)] != 1 || sent[w.codeAt(1)] != 1 {
		t.Fatalf("GetSessionToken calls %d, codes sent %v: want each of two codes once", w.sts.Calls("GetSessionToken"), sent)
	}
}

// Typing the same code again after a lost reply costs no call: AWS would
// refuse it as used. The person is asked once more.
func TestLostReplySameCodeIsNotSent(t *testing.T) {
	w := newWorld(t)
	var asked []MFARequest
	first := w.codeAt(0)
	w.mfaSource = func(_ context.Context, req MFARequest) (string, error) {
		asked = append(asked, req)
		if len(asked) < 3 {
			return first, nil
		}
		return w.codeAt(1), nil
	}
	w.sts.LoseReply("GetSessionToken", 1)
	_, err := w.provider().Retrieve(context.Background(), w.sessionPlan(w.serial))
	must(t, err)
	if len(asked) != 3 || asked[2].Lost == nil || asked[2].Attempt != 3 {
		t.Fatalf("asks %+v: want three, the last still about the lost reply", asked)
	}
	if n := w.sts.Calls("GetSessionToken"); n != 2 || w.codesSent("GetSessionToken")[first] != 1 {
		t.Fatalf("GetSessionToken calls %d, codes %v: the repeated code was sent", n, w.codesSent("GetSessionToken"))
	}
}

// When AWS refuses the code given after a lost reply, the message does not
// call it wrong: it may have been used already.
func TestRejectionAfterLostReplyIsNotBlamed(t *testing.T) {
	w := newWorld(t)
	n := 0
	w.mfaSource = func(_ context.Context, req MFARequest) (string, error) {
		n++
		switch n {
		case 1:
			return w.codeAt(1), nil // the lost call used the next step's code
		case 2:
			return w.codeAt(0), nil // so this step's code is refused as older
		}
		return "", ErrNoRetry
	}
	w.sts.LoseReply("GetSessionToken", 1)
	_, err := w.provider().Retrieve(context.Background(), w.sessionPlan(w.serial))
	var pe *ProviderError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "may have been used already") || strings.Contains(err.Error(), "was rejected") {
		t.Fatalf("err = %v: want it to say the code may have been used, not that it was wrong", err)
	}
	if w.sts.Calls("GetSessionToken") != 2 {
		t.Fatalf("GetSessionToken calls = %d, want 2", w.sts.Calls("GetSessionToken"))
	}
}

// countingClient counts requests and fails the first one before it is sent,
// as a refused connection does.
type countingClient struct {
	next      aws.HTTPClient
	n         atomic.Int32
	failFirst bool
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	if c.n.Add(1) == 1 && c.failFirst {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	}
	return c.next.Do(r)
}

// A request that never left the machine carried no code to AWS, so it is
// retried as the SDK would; calls without a code keep the SDK's retries.
func TestRetriesThatCannotUseACode(t *testing.T) {
	w := newWorld(t)
	p := w.provider()
	cc := &countingClient{next: p.HTTPClient, failFirst: true}
	p.HTTPClient = cc
	_, err := p.Retrieve(context.Background(), w.sessionPlan(w.serial))
	must(t, err)
	if cc.n.Load() != 2 || w.sts.Calls("GetSessionToken") != 1 {
		t.Fatalf("%d requests, %d reached STS: want the unsent one retried", cc.n.Load(), w.sts.Calls("GetSessionToken"))
	}

	w2 := newWorld(t)
	w2.sts.FailNext("GetSessionToken", "ServiceUnavailable", "Service is unavailable", 1)
	_, err = w2.provider().Retrieve(context.Background(), w2.sessionPlan(""))
	must(t, err)
	if n := w2.sts.Calls("GetSessionToken"); n != 2 {
		t.Fatalf("GetSessionToken without MFA: %d calls, want the SDK's retry after a 503", n)
	}
}

func TestCodeMayBeUsed(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{&net.DNSError{Err: "no such host", Name: "sts.example"}, false},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, false},
		{errors.New(`Post "https://127.0.0.1:1/": http: server gave HTTP response to HTTPS client`), false},
		{&tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}, false},
	} {
		if got := codeMayBeUsed(tc.err); got != tc.want {
			t.Errorf("codeMayBeUsed(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
