package ststest

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// retryingSTSClient is an SDK client with the SDK's standard retries (three
// attempts), minus the back-off so the test does not sleep.
func retryingSTSClient(url string, k keys) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(k.id, k.secret, k.token),
		HTTPClient:   awshttp.NewBuildableClient(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
}

// A reply lost after GetSessionToken took effect: the session exists and
// the code is used up, so the SDK's own retry of the same request is refused
// as AWS refuses a reused code. This is the failure rolevault must not
// blame on the person.
func TestLoseReplyUsesTheCode(t *testing.T) {
	w := newWorld(t)
	w.s.LoseReply("GetSessionToken", 1)
	code := w.code(0)
	_, err := retryingSTSClient(w.url, w.alice).GetSessionToken(ctx(t), &sts.GetSessionTokenInput{
		SerialNumber: aws.String(w.serial), TokenCode: aws.String(code)})
	wantErr(t, err, "AccessDenied", msgBadMFACode, 403)

	h := w.s.History()
	if len(h) != 2 || !h[0].ReplyLost || h[0].Status != 0 || h[1].ReplyLost || h[1].Code != "AccessDenied" {
		t.Fatalf("history %+v, want the lost reply then the refused retry", h)
	}
	for i, c := range h {
		if c.TokenCode != code {
			t.Fatalf("call %d carried code %q, want %q", i, c.TokenCode, code)
		}
	}
	ss := w.s.Sessions()
	if len(ss) != 1 || !ss[0].MFA || ss[0].Kind != KindSessionToken {
		t.Fatalf("sessions %+v, want the one the lost reply carried", ss)
	}

	// The next step's code still works: AWS accepts the adjacent step.
	_, err = stsClient(w.url, w.alice).GetSessionToken(ctx(t), &sts.GetSessionTokenInput{
		SerialNumber: aws.String(w.serial), TokenCode: aws.String(w.code(1))})
	must(t, err)
}

// LoseReply's nth counts successful requests for the action only: a refused
// one, or another action, does not move it on.
func TestLoseReplyNth(t *testing.T) {
	w := newWorld(t)
	c := stsClient(w.url, w.alice)
	w.s.LoseReply("GetCallerIdentity", 2)
	_, err := c.GetSessionToken(ctx(t), nil) // another action
	must(t, err)
	_, err = stsClient(w.url, keys{id: "AKIAWRONGWRONGWRONG", secret: w.alice.secret}).GetCallerIdentity(ctx(t), nil)
	wantErr(t, err, "InvalidClientTokenId", "", 403)
	_, err = c.GetCallerIdentity(ctx(t), nil) // the first success passes
	must(t, err)
	if _, err := c.GetCallerIdentity(ctx(t), nil); err == nil {
		t.Fatal("the second successful GetCallerIdentity was answered, want its reply lost")
	}
	_, err = c.GetCallerIdentity(ctx(t), nil) // the fault is used up
	must(t, err)
	var lost int
	for _, h := range w.s.History() {
		if h.ReplyLost {
			lost++
		}
	}
	if lost != 1 || w.s.Calls("GetCallerIdentity") != 4 {
		t.Fatalf("%d lost replies in %d GetCallerIdentity calls, want 1 in 4", lost, w.s.Calls("GetCallerIdentity"))
	}
}

// A fault that fails before the action (Skip on a before-fault) counts every
// matching request.
func TestFaultSkip(t *testing.T) {
	w := newWorld(t)
	c := stsClient(w.url, w.alice)
	w.s.InjectFault(Fault{Action: "GetCallerIdentity", Code: "Throttling", Message: "Rate exceeded", Skip: 1})
	_, err := c.GetCallerIdentity(ctx(t), nil)
	must(t, err)
	_, err = c.GetCallerIdentity(ctx(t), nil)
	wantErr(t, err, "Throttling", "Rate exceeded", 400)
	_, err = c.GetCallerIdentity(ctx(t), nil)
	must(t, err)
}
