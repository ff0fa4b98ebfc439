package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeSource is a CredentialsFunc whose answers tests control. Every call
// returns a new access key (ASIAFAKE0001, ASIAFAKE0002, …) valid for ttl from
// the clock's now, or err when set. With gate set, a call waits for the gate
// to close (or its context) before answering, and says it started on started.
type fakeSource struct {
	clock *fakeClock // nil means time.Now

	mu        sync.Mutex
	calls     int
	ttl       time.Duration
	err       error
	expired   bool // return credentials that expired a minute ago
	gate      chan struct{}
	ignoreCtx bool // wait on the gate even after the context is done
	started   chan int
}

func newFakeSource(clock *fakeClock, ttl time.Duration) *fakeSource {
	return &fakeSource{clock: clock, ttl: ttl, started: make(chan int, 100)}
}

func (f *fakeSource) now() time.Time {
	if f.clock == nil {
		return time.Now()
	}
	return f.clock.Now()
}

func (f *fakeSource) set(fn func(f *fakeSource)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *fakeSource) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeSource) Fetch(ctx context.Context) (aws.Credentials, error) {
	f.mu.Lock()
	f.calls++
	n, err, ttl, gate, ignore, expired := f.calls, f.err, f.ttl, f.gate, f.ignoreCtx, f.expired
	f.mu.Unlock()
	f.started <- n
	if gate != nil {
		if ignore {
			<-gate
		} else {
			select {
			case <-gate:
			case <-ctx.Done():
				return aws.Credentials{}, ctx.Err()
			}
		}
	}
	if err != nil {
		return aws.Credentials{}, err
	}
	exp := f.now().Add(ttl)
	if expired {
		exp = f.now().Add(-time.Minute)
	}
	return aws.Credentials{
		AccessKeyID:     keyID(n),
		SecretAccessKey: fmt.Sprintf("secret-%d", n),
		SessionToken:    fmt.Sprintf("session-%d", n),
		CanExpire:       true,
		Expires:         exp,
	}, nil
}

func keyID(n int) string { return fmt.Sprintf("ASIAFAKE%04d", n) }

// request builds a request as it arrives at a handler: from a loopback peer
// unless a test says otherwise, to host.
func request(method, target, host string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Host = host
	r.RemoteAddr = "127.0.0.1:40000"
	for k, v := range hdr {
		if k == "RemoteAddr" {
			r.RemoteAddr = v
			continue
		}
		r.Header.Set(k, v)
	}
	return r
}

// fixedUID stands in for the kernel's socket table.
func fixedUID(uid int, err error) uidFunc {
	return func(*http.Request) (int, error) { return uid, err }
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// get does a real HTTP round trip, for tests that need a real listener.
func get(t *testing.T, url string, hdr map[string]string) (int, string) {
	t.Helper()
	code, body, err := tryGet(url, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// tryGet is get for goroutines other than the test's, which must not call
// t.Fatal.
func tryGet(url string, hdr map[string]string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// isolateAWSEnv gives an AWS SDK in this test nothing to find but what the
// test sets: no profile, keys, CA bundle, config files or metadata endpoints
// from the machine, and no way to leave it.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_CA_BUNDLE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_V1_DISABLED",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
		"AWS_SDK_LOAD_CONFIG",
	} {
		t.Setenv(k, "") // registers the restore
		os.Unsetenv(k)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	// Anything a test forgot to point at loopback fails here instead of
	// leaving the machine; Go never proxies loopback itself.
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
	t.Setenv("NO_PROXY", "127.0.0.1,localhost")
}

// setEnv applies NAME=value pairs as a server's Env returns them.
func setEnv(t *testing.T, kv []string) {
	t.Helper()
	for _, e := range kv {
		for i := 0; i < len(e); i++ {
			if e[i] == '=' {
				t.Setenv(e[:i], e[i+1:])
				break
			}
		}
	}
}
