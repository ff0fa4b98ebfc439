package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func startECS(t *testing.T, src *fakeSource, opts ECSOptions) *ECSServer {
	t.Helper()
	if opts.Now == nil && src.clock != nil {
		opts.Now = src.clock.Now
	}
	s, err := StartECS(context.Background(), src.Fetch, opts)
	if err != nil {
		t.Fatalf("StartECS: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ecsPort(s *ECSServer) string { return s.addr[strings.LastIndex(s.addr, ":")+1:] }

func TestECSHandlerRefusals(t *testing.T) {
	src := newFakeSource(newFakeClock(), time.Hour)
	s := startECS(t, src, ECSOptions{})
	port := ecsPort(s)
	good := map[string]string{"Authorization": s.token}

	tests := []struct {
		name     string
		method   string
		path     string
		host     string
		hdr      map[string]string
		want     int
		wantCode string
	}{
		{"good token", "GET", ECSPath, "127.0.0.1:" + port, good, 200, ""},
		{"localhost host", "GET", ECSPath, "localhost:" + port, good, 200, ""},
		{"host case does not matter", "GET", ECSPath, "LocalHost:" + port, good, 200, ""},
		{"wrong token", "GET", ECSPath, "127.0.0.1:" + port, map[string]string{"Authorization": strings.Repeat("A", len(s.token))}, 403, "InvalidToken"},
		{"token prefix", "GET", ECSPath, "127.0.0.1:" + port, map[string]string{"Authorization": s.token[:len(s.token)-1]}, 403, "InvalidToken"},
		{"token with suffix", "GET", ECSPath, "127.0.0.1:" + port, map[string]string{"Authorization": s.token + "x"}, 403, "InvalidToken"},
		{"bearer token", "GET", ECSPath, "127.0.0.1:" + port, map[string]string{"Authorization": "Bearer " + s.token}, 403, "InvalidToken"},
		{"missing token", "GET", ECSPath, "127.0.0.1:" + port, nil, 403, "InvalidToken"},
		{"rebinding host", "GET", ECSPath, "evil.example:" + port, good, 403, "InvalidHost"},
		{"rebinding host without port", "GET", ECSPath, "evil.example", good, 403, "InvalidHost"},
		{"loopback without port", "GET", ECSPath, "127.0.0.1", good, 403, "InvalidHost"},
		{"other port", "GET", ECSPath, "127.0.0.1:1", good, 403, "InvalidHost"},
		{"other loopback address", "GET", ECSPath, "127.0.0.2:" + port, good, 403, "InvalidHost"},
		{"empty host", "GET", ECSPath, "", good, 403, "InvalidHost"},
		{"metadata host", "GET", ECSPath, "169.254.170.2", good, 403, "InvalidHost"},
		{"browser origin", "GET", ECSPath, "127.0.0.1:" + port, map[string]string{"Authorization": s.token, "Origin": "http://127.0.0.1:" + port}, 403, "BrowserRequest"},
		{"browser fetch metadata", "GET", ECSPath, "127.0.0.1:" + port, map[string]string{"Authorization": s.token, "Sec-Fetch-Site": "cross-site"}, 403, "BrowserRequest"},
		{"POST", "POST", ECSPath, "127.0.0.1:" + port, good, 405, "MethodNotAllowed"},
		{"PUT", "PUT", ECSPath, "127.0.0.1:" + port, good, 405, "MethodNotAllowed"},
		{"POST without token", "POST", ECSPath, "127.0.0.1:" + port, nil, 403, "InvalidToken"},
		{"role-arn route does not exist", "GET", "/role-arn/arn:aws:iam::111111111111:role/admin", "127.0.0.1:" + port, good, 404, "NotFound"},
		{"root path", "GET", "/", "127.0.0.1:" + port, good, 404, "NotFound"},
		// What a page's fetch() with an Authorization header sends first.
		{"CORS preflight", "OPTIONS", ECSPath, "127.0.0.1:" + port, map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Headers": "authorization"}, 403, "BrowserRequest"},
		{"preflight without Origin", "OPTIONS", ECSPath, "127.0.0.1:" + port, map[string]string{"Access-Control-Request-Method": "GET"}, 403, "InvalidToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(s, request(tt.method, tt.path, tt.host, tt.hdr))
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.want, w.Body)
			}
			if v := w.Header().Get("Access-Control-Allow-Origin"); v != "" {
				t.Fatalf("CORS header %q lets a web page read the response", v)
			}
			body := w.Body.String()
			if tt.want != 200 {
				if strings.Contains(body, "ASIAFAKE") || strings.Contains(body, "secret-") {
					t.Fatalf("refusal leaks credentials: %s", body)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q: the Go SDK parses error documents only as exactly application/json", ct)
				}
				var e errorDoc
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != tt.wantCode || e.Message == "" {
					t.Fatalf("error document %s (err %v), want code %s and a message", body, err, tt.wantCode)
				}
				if tt.want == 405 && w.Header().Get("Allow") != "GET" {
					t.Errorf("405 without Allow: GET")
				}
				return
			}
			var doc map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc["AccessKeyId"] != keyID(1) || doc["SecretAccessKey"] != "secret-1" || doc["Token"] != "session-1" {
				t.Fatalf("document %v", doc)
			}
			exp, err := time.Parse(time.RFC3339, doc["Expiration"])
			if err != nil || !exp.Equal(src.clock.Now().Add(time.Hour)) {
				t.Fatalf("Expiration %q (%v), want %s", doc["Expiration"], err, src.clock.Now().Add(time.Hour))
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("credentials served without Cache-Control: no-store")
			}
		})
	}
	if n := src.Calls(); n != 1 {
		t.Errorf("source called %d times; refused requests must not reach it and fresh credentials are reused", n)
	}
}

// The token is the one thing between another local process and the
// credentials: it must be 256 random bits, new for every server.
func TestECSTokenIsRandom256Bits(t *testing.T) {
	src := newFakeSource(newFakeClock(), time.Hour)
	a, b := startECS(t, src, ECSOptions{Lazy: true}), startECS(t, src, ECSOptions{Lazy: true})
	raw, err := base64.RawURLEncoding.DecodeString(a.token)
	if err != nil || len(raw) < 32 {
		t.Fatalf("token %q decodes to %d bytes (%v), want >= 32", a.token, len(raw), err)
	}
	if a.token == b.token {
		t.Fatal("two servers share a token")
	}
	env := strings.Join(a.Env(), "\n")
	if !strings.Contains(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+a.token) ||
		!strings.Contains(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:"+ecsPort(a)+ECSPath) {
		t.Fatalf("Env:\n%s", env)
	}
}

func TestECSOverHTTP(t *testing.T) {
	src := newFakeSource(nil, time.Hour)
	s := startECS(t, src, ECSOptions{})
	if !strings.HasPrefix(s.addr, "127.0.0.1:") {
		t.Fatalf("listening on %s, want 127.0.0.1", s.addr)
	}
	code, body := get(t, s.URL(), map[string]string{"Authorization": s.token})
	if code != 200 || !strings.Contains(body, keyID(1)) {
		t.Fatalf("%d %s", code, body)
	}
	code, body = get(t, s.URL(), nil)
	if code != 403 || strings.Contains(body, keyID(1)) {
		t.Fatalf("without token: %d %s", code, body)
	}
}

func TestECSRefreshesInsideMinTTL(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	s := startECS(t, src, ECSOptions{})
	fetch := func() string {
		t.Helper()
		w := serve(s, request("GET", ECSPath, "127.0.0.1:"+ecsPort(s), map[string]string{"Authorization": s.token}))
		if w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		var doc map[string]string
		_ = json.Unmarshal(w.Body.Bytes(), &doc)
		return doc["AccessKeyId"]
	}

	clock.Add(time.Hour - DefaultMinTTL - time.Second) // 15m01s left
	if got := fetch(); got != keyID(1) || src.Calls() != 1 {
		t.Fatalf("outside the window: served %s after %d calls, want the first key and no refresh", got, src.Calls())
	}
	clock.Add(2 * time.Second) // 14m59s left: inside botocore's advisory window
	if got := fetch(); got != keyID(2) || src.Calls() != 2 {
		t.Fatalf("inside the window: served %s after %d calls, want a refreshed key", got, src.Calls())
	}
	if got := fetch(); got != keyID(2) || src.Calls() != 2 {
		t.Fatalf("after refresh: served %s after %d calls", got, src.Calls())
	}
}

func TestECSMinTTLOption(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	s := startECS(t, src, ECSOptions{MinTTL: 40 * time.Minute})
	clock.Add(21 * time.Minute) // 39m left
	w := serve(s, request("GET", ECSPath, "127.0.0.1:"+ecsPort(s), map[string]string{"Authorization": s.token}))
	if w.Code != 200 || !strings.Contains(w.Body.String(), keyID(2)) {
		t.Fatalf("MinTTL 40m with 39m left: %d %s", w.Code, w.Body)
	}
}

func TestECSFailedRefreshReturnsErrorNotStaleCredentials(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	s := startECS(t, src, ECSOptions{})
	req := func() *http.Request {
		return request("GET", ECSPath, "127.0.0.1:"+ecsPort(s), map[string]string{"Authorization": s.token})
	}

	src.set(func(f *fakeSource) { f.err = errors.New("keychain is locked") })
	clock.Add(50 * time.Minute) // 10m left: still valid, but inside the window
	w := serve(s, req())
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500; body %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), keyID(1)) {
		t.Fatalf("failed refresh served the old credentials: %s", w.Body)
	}
	var e errorDoc
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != "CredentialsUnavailable" ||
		!strings.Contains(e.Message, "keychain is locked") {
		t.Fatalf("error document %s (%v)", w.Body, err)
	}

	// SDK retries a second later must not each cost a call to the source.
	clock.Add(time.Second)
	if w := serve(s, req()); w.Code != 500 || src.Calls() != 2 {
		t.Fatalf("retry within the gap: %d, %d calls, want the held error and 2 calls", w.Code, src.Calls())
	}

	// Once the source recovers, the next request after the gap gets new keys.
	src.set(func(f *fakeSource) { f.err = nil })
	clock.Add(refreshGap)
	if w := serve(s, req()); w.Code != 200 || !strings.Contains(w.Body.String(), keyID(3)) {
		t.Fatalf("after recovery: %d %s", w.Code, w.Body)
	}
}

func TestECSNeverServesExpiredCredentials(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, 10*time.Minute) // shorter than MinTTL
	s := startECS(t, src, ECSOptions{})
	req := func() *http.Request {
		return request("GET", ECSPath, "127.0.0.1:"+ecsPort(s), map[string]string{"Authorization": s.token})
	}
	// Credentials the source cannot better are served while it would only
	// hand back the same, but not asked for on every request.
	if w := serve(s, req()); w.Code != 200 || src.Calls() != 1 {
		t.Fatalf("%d after %d calls", w.Code, src.Calls())
	}
	clock.Add(refreshGap)
	if w := serve(s, req()); w.Code != 200 || !strings.Contains(w.Body.String(), keyID(2)) {
		t.Fatalf("after the gap: %d %s", w.Code, w.Body)
	}

	// The source fails and the held credentials run out: an error, never
	// the expired keys.
	src.set(func(f *fakeSource) { f.err = errors.New("sts unreachable") })
	clock.Add(11 * time.Minute)
	if w := serve(s, req()); w.Code != 500 || strings.Contains(w.Body.String(), "ASIAFAKE") {
		t.Fatalf("past expiry: %d %s", w.Code, w.Body)
	}

	// A source handing out already-expired credentials is an error too.
	src.set(func(f *fakeSource) { f.err, f.expired = nil, true })
	clock.Add(refreshGap)
	if w := serve(s, req()); w.Code != 500 || !strings.Contains(w.Body.String(), "expired") {
		t.Fatalf("expired from source: %d %s", w.Code, w.Body)
	}
}

func TestECSConcurrentRequestsShareOneRefresh(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	s := startECS(t, src, ECSOptions{})
	<-src.started // the start-up fetch

	gate := make(chan struct{})
	src.set(func(f *fakeSource) { f.gate = gate })
	clock.Add(50 * time.Minute)

	const n = 20
	var wg sync.WaitGroup
	codes := make([]int, n)
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			codes[i], bodies[i], err = tryGet(s.URL(), map[string]string{"Authorization": s.token})
			if err != nil {
				bodies[i] = err.Error()
			}
		}()
	}
	<-src.started // the one refresh has begun; let the others pile up behind it
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()

	if c := src.Calls(); c != 2 {
		t.Fatalf("%d concurrent requests made %d calls to the source, want 1 refresh (2 calls in all)", n, c)
	}
	for i := range n {
		if codes[i] != 200 || !strings.Contains(bodies[i], keyID(2)) {
			t.Fatalf("request %d: %d %s", i, codes[i], bodies[i])
		}
	}
}

func TestECSRefreshTimeoutIsBounded(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	gate := make(chan struct{})
	defer close(gate)
	// A source that ignores its context entirely still cannot hold a request.
	src.set(func(f *fakeSource) { f.gate, f.ignoreCtx = gate, true })
	s := startECS(t, src, ECSOptions{Lazy: true, RefreshTimeout: 100 * time.Millisecond})

	req, _ := http.NewRequest("GET", s.URL(), nil)
	req.Header.Set("Authorization", s.token)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("request with a 100ms refresh timeout: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), "no answer within 100ms") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestECSLazyDefersFirstFetch(t *testing.T) {
	src := newFakeSource(newFakeClock(), time.Hour)
	s := startECS(t, src, ECSOptions{Lazy: true})
	if c := src.Calls(); c != 0 {
		t.Fatalf("lazy server called the source %d times at start", c)
	}
	w := serve(s, request("GET", ECSPath, "127.0.0.1:"+ecsPort(s), map[string]string{"Authorization": s.token}))
	if w.Code != 200 || src.Calls() != 1 {
		t.Fatalf("%d after %d calls", w.Code, src.Calls())
	}
}

func TestECSStartFailsWhenFirstFetchFails(t *testing.T) {
	src := newFakeSource(newFakeClock(), time.Hour)
	src.err = errors.New("MFA declined")
	s, err := StartECS(context.Background(), src.Fetch, ECSOptions{Now: src.clock.Now})
	if err == nil || !strings.Contains(err.Error(), "MFA declined") || s != nil {
		t.Fatalf("StartECS = %v, %v; want the source's error", s, err)
	}
}

func TestECSStopsOnCloseAndContext(t *testing.T) {
	src := newFakeSource(nil, time.Hour)
	s := startECS(t, src, ECSOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Fatal("server still answers after Close")
	}
	_ = s.Close() // twice is fine

	ctx, cancel := context.WithCancel(context.Background())
	s2, err := StartECS(ctx, src.Fetch, ECSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(s2.URL()); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still answers after its context was cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --debug output goes to a terminal or a CI log: it may name a key, never
// show it.
func TestLogsMaskSecrets(t *testing.T) {
	var lines []string
	var mu sync.Mutex
	logf := func(format string, args ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	src := newFakeSource(nil, time.Hour)
	ecs := startECS(t, src, ECSOptions{Logf: logf})
	ec2 := startEC2(t, src, EC2Options{Logf: logf})
	get(t, ecs.URL(), map[string]string{"Authorization": ecs.token})
	get(t, ecs.URL(), map[string]string{"Authorization": "wrong"})
	get(t, ec2.URL()+strings.TrimPrefix(credsURL, "/")+DefaultRoleName, nil)

	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "served ****************0001") {
		t.Fatalf("log does not name the served key by its last four characters:\n%s", all)
	}
	for _, secret := range []string{keyID(1), keyID(2), "secret-", "session-", ecs.token} {
		if strings.Contains(all, secret) {
			t.Fatalf("log shows %q:\n%s", secret, all)
		}
	}
}
