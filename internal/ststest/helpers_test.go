package ststest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

const (
	loginAcct = "111111111111"
	devAcct   = "222222222222"
	prodAcct  = "444444444444"
)

type keys struct{ id, secret, token string }

func fromCreds(c *ststypes.Credentials) keys {
	return keys{aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)}
}

func start(t *testing.T) (*Server, string) {
	t.Helper()
	s := New()
	u := s.Start()
	t.Cleanup(s.Close)
	return s, u
}

// The SDK clients are built from Options rather than LoadDefaultConfig so
// that the developer's AWS_* environment (AWS_CA_BUNDLE in particular) does
// not leak in, and with retries off so each call is one request.
func stsClient(url string, k keys) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(k.id, k.secret, k.token),
		HTTPClient:   awshttp.NewBuildableClient(),
		Retryer:      aws.NopRetryer{},
	})
}

func iamClient(url string, k keys) *iam.Client {
	return iam.New(iam.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(k.id, k.secret, k.token),
		HTTPClient:   awshttp.NewBuildableClient(),
		Retryer:      aws.NopRetryer{},
	})
}

// wantErr asserts err is the AWS API error code with a message containing
// msg and, if status is not 0, that HTTP status.
func wantErr(t *testing.T, err error, code, msg string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	if !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("message = %q, want it to contain %q", ae.ErrorMessage(), msg)
	}
	if status != 0 {
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != status {
			t.Fatalf("status: %v, want %d", err, status)
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// world is the seed articles' layout: users in a login account, roles in
// dev and prod that trust it, prod requiring MFA.
type world struct {
	s                 *Server
	url               string
	alice, bob        keys
	serial, mfaSecret string
	devRole, prodRole string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s, u := start(t)
	w := &world{s: s, url: u, devRole: "arn:aws:iam::" + devAcct + ":role/developer",
		prodRole: "arn:aws:iam::" + prodAcct + ":role/administrator"}
	w.alice.id, w.alice.secret = s.AddUser(loginAcct, "alice")
	w.bob.id, w.bob.secret = s.AddUser(loginAcct, "bob")
	w.serial, w.mfaSecret = s.AddMFADevice(loginAcct, "alice")
	must(t, s.AddRole(w.devRole, RoleOptions{Trust: []string{"arn:aws:iam::" + loginAcct + ":root"}, MaxSessionDuration: 4 * time.Hour}))
	must(t, s.AddRole(w.prodRole, RoleOptions{Trust: []string{"arn:aws:iam::" + loginAcct + ":root"}, RequireMFA: true}))
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// code returns alice's MFA code for an offset in 30-second steps from now.
func (w *world) code(step int) string {
	return TOTP(w.mfaSecret, w.s.Now().Add(time.Duration(step)*totpStep))
}

// mfaSession returns alice's GetSessionToken credentials proven with MFA.
func (w *world) mfaSession(t *testing.T) keys {
	t.Helper()
	out, err := stsClient(w.url, w.alice).GetSessionToken(ctx(t), &sts.GetSessionTokenInput{
		SerialNumber: aws.String(w.serial), TokenCode: aws.String(w.code(0)),
	})
	must(t, err)
	return fromCreds(out.Credentials)
}

func (w *world) assume(t *testing.T, k keys, roleArn string) keys {
	t.Helper()
	out, err := stsClient(w.url, k).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleArn), RoleSessionName: aws.String("test"),
	})
	must(t, err)
	return fromCreds(out.Credentials)
}
