package ststest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const gciBody = "Action=GetCallerIdentity&Version=2011-06-15"

type rawResult struct {
	status        int
	code, message string
	body          string
	header        http.Header
}

func newPost(t *testing.T, base, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return req
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sign signs req with the SDK's own SigV4 signer, so these tests check the
// emulator against the reference implementation rather than against itself.
func sign(t *testing.T, req *http.Request, body string, k keys, service, region string, at time.Time) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret, SessionToken: k.token}
	must(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), service, region, at))
}

func do(t *testing.T, req *http.Request) rawResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc struct {
		Error struct{ Code, Message string }
	}
	_ = xml.Unmarshal(b, &doc)
	return rawResult{status: resp.StatusCode, code: doc.Error.Code, message: doc.Error.Message, body: string(b), header: resp.Header}
}

func TestSignatureVerification(t *testing.T) {
	w := newWorld(t)
	sess := w.mfaSession(t)
	deletedID, deletedSecret := w.s.AddUser(loginAcct, "carol")
	w.s.DeleteAccessKey(deletedID)
	now := time.Now()

	tests := []struct {
		name     string
		creds    keys
		service  string
		region   string
		at       time.Time
		mutate   func(*http.Request) // after signing
		wantCode string              // "" for success
		wantMsg  string
		status   int
	}{
		{name: "good signature", creds: w.alice},
		{name: "another region", creds: w.alice, region: "eu-west-1"},
		{name: "four minutes of skew", creds: w.alice, at: now.Add(-4 * time.Minute)},
		{name: "session credentials", creds: sess},
		{name: "wrong secret", creds: keys{w.alice.id, strings.Repeat("x", 40), ""},
			wantCode: "SignatureDoesNotMatch", wantMsg: "The request signature we calculated does not match", status: 403},
		{name: "unknown key", creds: keys{"AKIAUNKNOWNUNKNOWN00", strings.Repeat("x", 40), ""},
			wantCode: "InvalidClientTokenId", wantMsg: msgInvalidKey, status: 403},
		{name: "deleted key", creds: keys{deletedID, deletedSecret, ""},
			wantCode: "InvalidClientTokenId", wantMsg: msgInvalidKey, status: 403},
		{name: "wrong service", creds: w.alice, service: "s3",
			wantCode: "SignatureDoesNotMatch", wantMsg: "Credential should be scoped to correct service: 'sts'. ", status: 403},
		{name: "empty region", creds: w.alice, region: "-",
			wantCode: "SignatureDoesNotMatch", wantMsg: "Credential should be scoped to a valid region. ", status: 403},
		{name: "twenty minutes old", creds: w.alice, at: now.Add(-20 * time.Minute),
			wantCode: "SignatureDoesNotMatch", wantMsg: "Signature expired: ", status: 403},
		{name: "twenty minutes ahead", creds: w.alice, at: now.Add(20 * time.Minute),
			wantCode: "SignatureDoesNotMatch", wantMsg: "Signature not yet current: ", status: 403},
		{name: "session token missing", creds: keys{sess.id, sess.secret, ""},
			wantCode: "InvalidClientTokenId", wantMsg: msgInvalidToken, status: 403},
		{name: "session token of another session", creds: keys{sess.id, sess.secret, sess.token + "x"},
			wantCode: "InvalidClientTokenId", wantMsg: msgInvalidToken, status: 403},
		{name: "long-term key with a session token", creds: keys{w.alice.id, w.alice.secret, sess.token},
			wantCode: "InvalidClientTokenId", wantMsg: msgInvalidToken, status: 403},
		{name: "body changed after signing", creds: w.alice,
			mutate: func(r *http.Request) {
				b := "Action=GetCallerIdentity&Version=2011-06-15&X=1"
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(b)), int64(len(b))
			},
			wantCode: "SignatureDoesNotMatch", wantMsg: "does not match", status: 403},
		{name: "host not signed", creds: w.alice,
			mutate: func(r *http.Request) {
				a := r.Header.Get("Authorization")
				r.Header.Set("Authorization", strings.Replace(a, "host;", "", 1))
			},
			wantCode: "SignatureDoesNotMatch", wantMsg: "'Host' must be a 'SignedHeader' in the AWS Authorization.", status: 403},
		{name: "no signature parameter", creds: w.alice,
			mutate: func(r *http.Request) {
				a := r.Header.Get("Authorization")
				r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			},
			wantCode: "IncompleteSignature", wantMsg: "Authorization header requires 'Signature' parameter. ", status: 400},
		{name: "no authentication", creds: w.alice,
			mutate:   func(r *http.Request) { r.Header.Del("Authorization") },
			wantCode: "MissingAuthenticationToken", wantMsg: "Request is missing Authentication Token", status: 403},
		{name: "unsupported algorithm", creds: w.alice,
			mutate: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1))
			},
			wantCode: "IncompleteSignature", wantMsg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, region, at := "sts", "us-east-1", now
			if tc.service != "" {
				svc = tc.service
			}
			if tc.region == "-" {
				region = ""
			} else if tc.region != "" {
				region = tc.region
			}
			if !tc.at.IsZero() {
				at = tc.at
			}
			req := newPost(t, w.url, gciBody)
			sign(t, req, gciBody, tc.creds, svc, region, at)
			if tc.mutate != nil {
				tc.mutate(req)
			}
			got := do(t, req)
			if tc.wantCode == "" {
				if got.status != 200 || !strings.Contains(got.body, "<GetCallerIdentityResult>") {
					t.Fatalf("status %d, body %s", got.status, got.body)
				}
				return
			}
			if got.code != tc.wantCode || !strings.Contains(got.message, tc.wantMsg) || got.status != tc.status {
				t.Fatalf("got %d %s %q, want %d %s containing %q", got.status, got.code, got.message, tc.status, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

// botocore signs only content-type, host and x-amz-date; the Go SDK signs
// more. Both must verify, since the list comes from the request.
func TestSignatureBotocoreHeaderSet(t *testing.T) {
	w := newWorld(t)
	req := newPost(t, w.url, gciBody)
	// The SDK signer adds content-length whenever it is known; hide it
	// while signing to get botocore's set.
	req.ContentLength = 0
	sign(t, req, gciBody, w.alice, "sts", "us-east-1", time.Now())
	req.ContentLength = int64(len(gciBody))
	if a := req.Header.Get("Authorization"); !strings.Contains(a, "SignedHeaders=content-type;host;x-amz-date,") {
		t.Fatalf("precondition: signed headers in %q", a)
	}
	req.Header.Set("User-Agent", "not-signed/1.0")
	if got := do(t, req); got.status != 200 {
		t.Fatalf("status %d: %s", got.status, got.body)
	}
}

func TestSignatureQueryAndPresigned(t *testing.T) {
	w := newWorld(t)
	t.Run("GET with the action in the query", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, w.url+"/?"+gciBody, nil)
		must(t, err)
		sign(t, req, "", w.alice, "sts", "us-east-1", time.Now())
		if got := do(t, req); got.status != 200 {
			t.Fatalf("status %d: %s", got.status, got.body)
		}
	})
	presign := func(t *testing.T, at time.Time, expires string) *http.Request {
		q := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}, "X-Amz-Expires": {expires}}
		req, err := http.NewRequest(http.MethodGet, w.url+"/?"+q.Encode(), nil)
		must(t, err)
		creds := aws.Credentials{AccessKeyID: w.alice.id, SecretAccessKey: w.alice.secret}
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, sha256Hex(""), "sts", "us-east-1", at)
		must(t, err)
		req, err = http.NewRequest(http.MethodGet, u, nil)
		must(t, err)
		return req
	}
	t.Run("presigned", func(t *testing.T) {
		if got := do(t, presign(t, time.Now(), "60")); got.status != 200 {
			t.Fatalf("status %d: %s", got.status, got.body)
		}
	})
	t.Run("presigned and tampered", func(t *testing.T) {
		req := presign(t, time.Now(), "60")
		req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "X-Amz-Expires=60", "X-Amz-Expires=61", 1)
		if got := do(t, req); got.code != "SignatureDoesNotMatch" {
			t.Fatalf("got %d %s", got.status, got.code)
		}
	})
	t.Run("presigned and past its expiry", func(t *testing.T) {
		if got := do(t, presign(t, time.Now().Add(-2*time.Minute), "60")); got.status != 403 || got.code != "AccessDenied" {
			t.Fatalf("got %d %s", got.status, got.code)
		}
	})
}

func TestSignatureClockIsSeparateFromSTSClock(t *testing.T) {
	w := newWorld(t)
	// Moving STS's clock must not break signatures made with the wall
	// clock; that is what lets expiry tests use real SDK clients.
	w.s.SetNow(func() time.Time { return time.Now().Add(48 * time.Hour) })
	if _, err := stsClient(w.url, w.alice).GetCallerIdentity(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	w.s.SetSignatureClock(func() time.Time { return time.Now().Add(48 * time.Hour) })
	_, err := stsClient(w.url, w.alice).GetCallerIdentity(ctx(t), nil)
	wantErr(t, err, "SignatureDoesNotMatch", "Signature expired", 403)
}
