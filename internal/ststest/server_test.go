package ststest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The documents must be shaped exactly like AWS's, since the product is
// also checked against real clients that parse them.
func TestResponseDocuments(t *testing.T) {
	w := newWorld(t)
	req := newPost(t, w.url, gciBody)
	sign(t, req, gciBody, w.alice, "sts", "us-east-1", time.Now())
	got := do(t, req)
	want := regexp.MustCompile(`^<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::111111111111:user/alice</Arn>
    <UserId>AIDA[A-Z2-7]{17}</UserId>
    <Account>111111111111</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>[0-9a-f-]{36}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
$`)
	if !want.MatchString(got.body) || got.header.Get("Content-Type") != "text/xml" {
		t.Fatalf("body:\n%s", got.body)
	}

	body := "Action=GetUser&Version=2010-05-08"
	req = newPost(t, w.url, body)
	sign(t, req, body, keys{w.alice.id, strings.Repeat("x", 40), ""}, "iam", "us-east-1", time.Now())
	got = do(t, req)
	wantErrDoc := regexp.MustCompile(`^<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Sender</Type>
    <Code>SignatureDoesNotMatch</Code>
    <Message>The request signature we calculated does not match the signature you provided. [^<]*</Message>
  </Error>
  <RequestId>[0-9a-f-]{36}</RequestId>
</ErrorResponse>
$`)
	if got.status != 403 || !wantErrDoc.MatchString(got.body) {
		t.Fatalf("status %d body:\n%s", got.status, got.body)
	}
	// A refused request is still attributed, so tests can tell which key a
	// client tried.
	h := w.s.History()
	if last := h[len(h)-1]; last.Service != "iam" || last.AccessKeyID != w.alice.id || last.Code != "SignatureDoesNotMatch" {
		t.Fatalf("history %+v", last)
	}
}

func TestUnknownActionAndVersion(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct{ body, service, msg string }{
		{"Action=GetSecrets&Version=2011-06-15", "sts", "Could not find operation GetSecrets for version 2011-06-15"},
		{"Action=GetCallerIdentity&Version=2010-05-08", "sts", "Could not find operation GetCallerIdentity for version 2010-05-08"},
		{"Action=GetCallerIdentity", "sts", "Could not find operation GetCallerIdentity for version NONE"},
		{"Action=GetCallerIdentity&Version=2011-06-15", "iam", "Could not find operation GetCallerIdentity for version 2011-06-15"},
	} {
		req := newPost(t, w.url, tc.body)
		sign(t, req, tc.body, w.alice, tc.service, "us-east-1", time.Now())
		if got := do(t, req); got.status != 400 || got.code != "InvalidAction" || got.message != tc.msg {
			t.Errorf("%s via %s: %d %s %q", tc.body, tc.service, got.status, got.code, got.message)
		}
	}
}

func TestFaultInjection(t *testing.T) {
	w := newWorld(t)
	c := stsClient(w.url, w.alice)
	w.s.FailNext("GetCallerIdentity", "Throttling", "Rate exceeded", 2)
	for i := 0; i < 2; i++ {
		_, err := c.GetCallerIdentity(ctx(t), nil)
		wantErr(t, err, "Throttling", "Rate exceeded", 400)
	}
	_, err := c.GetCallerIdentity(ctx(t), nil)
	must(t, err)

	w.s.InjectFault(Fault{Action: "GetSessionToken", Drop: true})
	if _, err := c.GetSessionToken(ctx(t), nil); err == nil {
		t.Fatal("dropped connection reported success")
	}
	if n := len(w.s.Sessions()); n != 0 {
		t.Fatalf("a request failed before taking effect issued %d sessions", n)
	}

	w.s.InjectFault(Fault{Action: "GetSessionToken", After: true, Drop: true})
	if _, err := c.GetSessionToken(ctx(t), nil); err == nil {
		t.Fatal("dropped connection reported success")
	}
	if n := len(w.s.Sessions()); n != 1 {
		t.Fatalf("a request whose reply was lost issued %d sessions, want 1", n)
	}

	w.s.FailNext("", "ServiceUnavailable", "down", 1)
	_, err = c.GetCallerIdentity(ctx(t), nil)
	wantErr(t, err, "ServiceUnavailable", "down", 503)

	if got := w.s.Calls("GetCallerIdentity"); got != 4 {
		t.Fatalf("Calls(GetCallerIdentity) = %d, want 4", got)
	}
	w.s.ResetCounters()
	if w.s.Calls("GetCallerIdentity") != 0 || len(w.s.History()) != 0 {
		t.Fatal("ResetCounters left counts behind")
	}
}

func TestHistoryHooksAndLatency(t *testing.T) {
	w := newWorld(t)
	var mu sync.Mutex
	var seen []Call
	w.s.OnSuccess("GetSessionToken", func(c Call) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c)
	})
	w.s.SetLatency("GetSessionToken", 50*time.Millisecond)
	start := time.Now()
	w.mfaSession(t)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	_, err := stsClient(w.url, w.alice).GetSessionToken(ctx(t), &sts.GetSessionTokenInput{
		SerialNumber: aws.String(w.serial), TokenCode: aws.String("000000")})
	if err == nil {
		t.Fatal("want MFA failure")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].AccessKeyID != w.alice.id || seen[0].Service != "sts" {
		t.Fatalf("hook saw %+v", seen)
	}
	h := w.s.History()
	if len(h) != 2 || h[0].Code != "" || h[1].Code != "AccessDenied" || h[1].Status != 403 {
		t.Fatalf("history %+v", h)
	}
	if w.s.MFAChecks() != 2 {
		t.Fatalf("MFAChecks = %d", w.s.MFAChecks())
	}
}

func TestStartTLS(t *testing.T) {
	s := New()
	base, caFile := s.StartTLS()
	id, secret := s.AddUser(loginAcct, "alice")
	pemData, err := os.ReadFile(caFile)
	must(t, err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("CA file holds no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(base), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")})
	_, err = c.GetCallerIdentity(ctx(t), nil)
	must(t, err)
	s.Close()
	if _, err := os.Stat(filepath.Dir(caFile)); !os.IsNotExist(err) {
		t.Fatalf("CA directory left behind: %v", err)
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	if _, _, err := New().Listen("0.0.0.0:0", false); err == nil {
		t.Fatal("listened on all interfaces")
	}
}

func TestTOTPVectors(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, truncated to the 6 digits AWS uses.
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32 of "12345678901234567890"
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		if got := TOTP(secret, time.Unix(tc.unix, 0)); got != tc.want {
			t.Errorf("TOTP at %d = %s, want %s", tc.unix, got, tc.want)
		}
	}
	if TOTP("not base32!", time.Now()) != "" {
		t.Error("TOTP of a bad secret should be empty")
	}
	if got := TOTP(strings.ToLower(secret)+"====", time.Unix(59, 0)); got != "287082" {
		t.Errorf("lower-case padded secret: %s", got)
	}
}

func TestFixture(t *testing.T) {
	f, err := LoadFixture(filepath.Join("..", "cmd", "ststest", "demo.json"))
	must(t, err)
	s, base := start(t)
	must(t, s.Apply(f))
	u := f.Users[0]
	alice := keys{u.AccessKeys[0].AccessKeyID, u.AccessKeys[0].SecretAccessKey, ""}
	out, err := stsClient(base, alice).GetCallerIdentity(ctx(t), nil)
	must(t, err)
	if aws.ToString(out.Arn) != "arn:aws:iam::111111111111:user/alice" {
		t.Fatalf("demo identity %s", aws.ToString(out.Arn))
	}
	prod := "arn:aws:iam::444444444444:role/administrator"
	_, err = stsClient(base, alice).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(prod), RoleSessionName: aws.String("alice")})
	wantErr(t, err, "AccessDenied", "sts:AssumeRole on resource: "+prod, 403)
	dev := "arn:aws:iam::222222222222:role/developer"
	_, err = stsClient(base, alice).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(dev), RoleSessionName: aws.String("alice")})
	must(t, err)
	dev2 := u.MFADevices[0]
	_, err = stsClient(base, alice).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(prod), RoleSessionName: aws.String("alice"),
		SerialNumber: aws.String(dev2.Serial), TokenCode: aws.String(TOTP(dev2.Secret, time.Now()))})
	must(t, err)

	bad := filepath.Join(t.TempDir(), "bad.json")
	must(t, os.WriteFile(bad, []byte(`{"roles":[{"arn":"arn:aws:iam::222222222222:role/x","requiresMFA":true}]}`), 0o600))
	if _, err := LoadFixture(bad); err == nil || !strings.Contains(err.Error(), "requiresMFA") {
		t.Fatalf("misspelt field accepted: %v", err)
	}
}
