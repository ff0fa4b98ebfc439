package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func startEC2(t *testing.T, src *fakeSource, opts EC2Options) *EC2Server {
	t.Helper()
	if opts.Now == nil && src.clock != nil {
		opts.Now = src.clock.Now
	}
	s, err := StartEC2(context.Background(), src.Fetch, opts)
	if err != nil {
		t.Fatalf("StartEC2: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// driveEC2 starts a server for tests that call its handler directly, with no
// connection behind the request: the socket-table lookup has nothing to find,
// so it is replaced by the answer "this user".
func driveEC2(t *testing.T, src *fakeSource, opts EC2Options) *EC2Server {
	t.Helper()
	s := startEC2(t, src, opts)
	s.users.uidOf = fixedUID(os.Getuid(), nil)
	return s
}

const credsURL = "/latest/meta-data/iam/security-credentials/"

// imdsToken does the IMDSv2 PUT against the handler and returns the token.
func imdsToken(t *testing.T, s *EC2Server, ttl string) string {
	t.Helper()
	w := serve(s, request("PUT", "/latest/api/token", MetadataIP, map[string]string{tokenTTLHeader: ttl}))
	if w.Code != 200 {
		t.Fatalf("PUT token: %d %s", w.Code, w.Body)
	}
	if got := w.Header().Get(tokenTTLHeader); got != ttl {
		t.Fatalf("token response TTL header %q, want %q (the Go SDK fails without it)", got, ttl)
	}
	return w.Body.String()
}

// IMDS's own timestamp format; botocore parses Expiration with exactly this.
var imdsTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func TestEC2TokenFlowServesCredentials(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	s := driveEC2(t, src, EC2Options{})
	tok := imdsToken(t, s, "21600")
	hdr := map[string]string{tokenHeader: tok}

	w := serve(s, request("GET", credsURL, MetadataIP, hdr))
	if w.Code != 200 || w.Body.String() != DefaultRoleName {
		t.Fatalf("role list: %d %q", w.Code, w.Body)
	}
	w = serve(s, request("GET", credsURL+DefaultRoleName, MetadataIP, hdr))
	if w.Code != 200 {
		t.Fatalf("credentials: %d %s", w.Code, w.Body)
	}
	var doc map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": keyID(1),
		"SecretAccessKey": "secret-1", "Token": "session-1",
		"Expiration":  clock.Now().Add(time.Hour).Format("2006-01-02T15:04:05Z"),
		"LastUpdated": clock.Now().Format("2006-01-02T15:04:05Z"),
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %q, want %q", k, doc[k], v)
		}
	}
	if !imdsTime.MatchString(doc["Expiration"]) || !imdsTime.MatchString(doc["LastUpdated"]) {
		t.Errorf("timestamps %q %q are not in IMDS's format", doc["Expiration"], doc["LastUpdated"])
	}
}

func TestEC2TokenTTLBounds(t *testing.T) {
	s := driveEC2(t, newFakeSource(newFakeClock(), time.Hour), EC2Options{Lazy: true})
	for _, tt := range []struct {
		ttl  string
		want int
	}{
		{"", 400}, {"0", 400}, {"1", 200}, {"300", 200}, {"21600", 200}, {"21601", 400},
		{"-1", 400}, {"abc", 400}, {"1.5", 400}, {" 60", 400}, {"99999999999999999999", 400},
	} {
		hdr := map[string]string{}
		if tt.ttl != "" {
			hdr[tokenTTLHeader] = tt.ttl
		}
		w := serve(s, request("PUT", "/latest/api/token", MetadataIP, hdr))
		if w.Code != tt.want {
			t.Errorf("TTL %q: status %d, want %d (%s)", tt.ttl, w.Code, tt.want, w.Body)
		}
		if w.Code == 200 && (w.Body.Len() < 40 || w.Header().Get(tokenTTLHeader) != tt.ttl) {
			t.Errorf("TTL %q: token %q, TTL header %q", tt.ttl, w.Body, w.Header().Get(tokenTTLHeader))
		}
	}
}

func TestEC2ExpiredAndForeignTokensAreRefused(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	s := driveEC2(t, src, EC2Options{})
	other := driveEC2(t, src, EC2Options{})

	tok := imdsToken(t, s, "60")
	get := func(tok string) int {
		return serve(s, request("GET", credsURL+DefaultRoleName, MetadataIP, map[string]string{tokenHeader: tok})).Code
	}
	if c := get(tok); c != 200 {
		t.Fatalf("fresh token: %d", c)
	}
	clock.Add(59 * time.Second)
	if c := get(tok); c != 200 {
		t.Fatalf("token 1s before expiry: %d", c)
	}
	clock.Add(time.Second)
	if c := get(tok); c != 401 {
		t.Fatalf("expired token: %d, want 401", c)
	}

	for name, bad := range map[string]string{
		"garbage":            "not-a-token",
		"another server's":   imdsToken(t, other, "60"),
		"tampered":           tamper(imdsToken(t, s, "60")),
		"truncated":          imdsToken(t, s, "60")[:20],
		"valid one, doubled": imdsToken(t, s, "60") + imdsToken(t, s, "60"),
	} {
		if c := get(bad); c != 401 {
			t.Errorf("%s token: %d, want 401", name, c)
		}
	}
}

// tamper flips a character in the expiry part of a token, as someone trying
// to extend a token's life would.
func tamper(tok string) string {
	b := []byte(tok)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

func TestEC2IMDSv1Reads(t *testing.T) {
	src := newFakeSource(newFakeClock(), time.Hour)
	v1 := driveEC2(t, src, EC2Options{})
	w := serve(v1, request("GET", credsURL+DefaultRoleName, MetadataIP, nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), keyID(1)) {
		t.Fatalf("IMDSv1 read: %d %s", w.Code, w.Body)
	}

	v2 := driveEC2(t, src, EC2Options{RequireToken: true})
	if w := serve(v2, request("GET", credsURL+DefaultRoleName, MetadataIP, nil)); w.Code != 401 {
		t.Fatalf("IMDSv1 read with RequireToken: %d, want 401", w.Code)
	}
	tok := imdsToken(t, v2, "60")
	if w := serve(v2, request("GET", credsURL+DefaultRoleName, MetadataIP, map[string]string{tokenHeader: tok})); w.Code != 200 {
		t.Fatalf("IMDSv2 read with RequireToken: %d", w.Code)
	}
}

func TestEC2HandlerRefusals(t *testing.T) {
	src := newFakeSource(newFakeClock(), time.Hour)
	s := driveEC2(t, src, EC2Options{})
	port := s.addr[strings.LastIndex(s.addr, ":")+1:]
	creds := credsURL + DefaultRoleName

	tests := []struct {
		name   string
		method string
		path   string
		host   string
		hdr    map[string]string
		want   int
	}{
		{"metadata host", "GET", creds, "169.254.169.254", nil, 200},
		{"metadata host with port 80", "GET", creds, "169.254.169.254:80", nil, 200},
		{"own loopback address", "GET", creds, "127.0.0.1:" + port, nil, 200},
		{"localhost and own port", "GET", creds, "localhost:" + port, nil, 200},
		{"IPv6 loopback peer", "GET", creds, MetadataIP, map[string]string{"RemoteAddr": "[::1]:4000"}, 200},
		{"rebinding host", "GET", creds, "evil.example", nil, 403},
		{"rebinding host with port", "GET", creds, "evil.example:" + port, nil, 403},
		{"metadata IP on another port", "GET", creds, "169.254.169.254:8080", nil, 403},
		{"empty host", "GET", creds, "", nil, 403},
		{"LAN peer", "GET", creds, MetadataIP, map[string]string{"RemoteAddr": "192.168.1.20:5555"}, 403},
		{"container peer", "GET", creds, MetadataIP, map[string]string{"RemoteAddr": "172.17.0.2:5555"}, 403},
		{"link-local peer", "GET", creds, MetadataIP, map[string]string{"RemoteAddr": "169.254.169.254:5555"}, 403},
		{"unparseable peer", "GET", creds, MetadataIP, map[string]string{"RemoteAddr": "somewhere"}, 403},
		{"browser origin", "GET", creds, MetadataIP, map[string]string{"Origin": "http://evil.example"}, 403},
		{"browser fetch metadata", "GET", creds, MetadataIP, map[string]string{"Sec-Fetch-Mode": "no-cors"}, 403},
		{"POST credentials", "POST", creds, MetadataIP, nil, 405},
		{"GET token", "GET", "/latest/api/token", MetadataIP, nil, 405},
		{"token through a proxy", "PUT", "/latest/api/token", MetadataIP, map[string]string{tokenTTLHeader: "60", "X-Forwarded-For": "10.0.0.9"}, 403},
		{"unknown role", "GET", credsURL + "admin", MetadataIP, nil, 404},
		{"role-arn route does not exist", "GET", "/role-arn/arn:aws:iam::111111111111:role/admin", MetadataIP, nil, 404},
		{"bad token", "GET", creds, MetadataIP, map[string]string{tokenHeader: "x"}, 401},
		// What a page's fetch() sends before a PUT or a custom header.
		{"CORS preflight", "OPTIONS", "/latest/api/token", MetadataIP, map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "PUT"}, 403},
		{"aws-vault's /stop", "GET", "/stop", MetadataIP, nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(s, request(tt.method, tt.path, tt.host, tt.hdr))
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.want, w.Body)
			}
			if tt.want != 200 && strings.Contains(w.Body.String(), "ASIAFAKE") {
				t.Fatalf("refusal leaks credentials: %s", w.Body)
			}
			if v := w.Header().Get("Access-Control-Allow-Origin"); v != "" {
				t.Fatalf("CORS header %q lets a web page read the response", v)
			}
		})
	}
}

func TestEC2MetadataPaths(t *testing.T) {
	src := newFakeSource(newFakeClock(), time.Hour)
	withRegion := driveEC2(t, src, EC2Options{Region: "eu-west-1", RoleName: "dev"})
	plain := driveEC2(t, src, EC2Options{})

	for _, tt := range []struct {
		s        *EC2Server
		path     string
		want     int
		contains string
	}{
		{withRegion, credsURL, 200, "dev"},
		{withRegion, "/latest/meta-data/iam/security-credentials", 200, "dev"},
		{withRegion, credsURL + "dev", 200, keyID(1)},
		{withRegion, credsURL + DefaultRoleName, 404, ""},
		{withRegion, "/latest/meta-data/placement/region", 200, "eu-west-1"},
		{withRegion, "/latest/meta-data/placement/availability-zone/", 200, "eu-west-1a"},
		{withRegion, "/latest/dynamic/instance-identity/document", 200, `"region":"eu-west-1"`},
		{withRegion, "/latest/meta-data/iam/info", 200, `"Code":"Success"`},
		{withRegion, "/latest/meta-data/instance-id", 200, "i-"},
		{withRegion, "/latest/meta-data/", 200, "iam/"},
		{plain, "/latest/meta-data/placement/region", 404, ""},
		{plain, "/latest/dynamic/instance-identity/document", 404, ""},
		{plain, "/latest/user-data", 404, ""},
	} {
		w := serve(tt.s, request("GET", tt.path, MetadataIP, nil))
		if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.contains) {
			t.Errorf("GET %s: %d %q, want %d containing %q", tt.path, w.Code, w.Body, tt.want, tt.contains)
		}
	}
}

func TestEC2FailedRefreshReturnsErrorNotStaleCredentials(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	s := driveEC2(t, src, EC2Options{})
	src.set(func(f *fakeSource) { f.err = errors.New("AccessDenied: not authorized to perform sts:AssumeRole") })
	clock.Add(50 * time.Minute)

	w := serve(s, request("GET", credsURL+DefaultRoleName, MetadataIP, nil))
	if strings.Contains(w.Body.String(), "ASIAFAKE") || strings.Contains(w.Body.String(), "secret-") {
		t.Fatalf("failed refresh served the old credentials: %d %s", w.Code, w.Body)
	}
	// IMDS's shape for a role without credentials: a Code other than
	// Success, a Message, and no key fields.
	var doc map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc["Code"] != "CredentialsUnavailable" ||
		!strings.Contains(doc["Message"], "sts:AssumeRole") || doc["AccessKeyId"] != "" {
		t.Fatalf("error document %d %s (%v)", w.Code, w.Body, err)
	}
}

func TestEC2RefreshesInsideMinTTL(t *testing.T) {
	clock := newFakeClock()
	src := newFakeSource(clock, time.Hour)
	s := driveEC2(t, src, EC2Options{MinTTL: 20 * time.Minute})
	clock.Add(39 * time.Minute) // 21m left
	if w := serve(s, request("GET", credsURL+DefaultRoleName, MetadataIP, nil)); !strings.Contains(w.Body.String(), keyID(1)) {
		t.Fatalf("outside the window: %s", w.Body)
	}
	clock.Add(2 * time.Minute) // 19m left
	if w := serve(s, request("GET", credsURL+DefaultRoleName, MetadataIP, nil)); !strings.Contains(w.Body.String(), keyID(2)) {
		t.Fatalf("inside the window: %s", w.Body)
	}
}

func TestEC2ListenAddress(t *testing.T) {
	src := newFakeSource(newFakeClock(), time.Hour)
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "localhost:0", ":0", "169.254.169.254:0"} {
		if s, err := StartEC2(context.Background(), src.Fetch, EC2Options{Addr: addr, Lazy: true}); err == nil {
			_ = s.Close()
			t.Errorf("StartEC2 listened on %q; only loopback IPs are allowed", addr)
		}
	}
	s := startEC2(t, src, EC2Options{Addr: "127.0.0.1:0", Lazy: true})
	env := strings.Join(s.Env(), "\n")
	if !strings.Contains(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://"+s.Addr()+"/") ||
		!strings.Contains(env, "AWS_EC2_METADATA_DISABLED=false") {
		t.Fatalf("Env:\n%s", env)
	}
	// A second server cannot take the same fixed address.
	if s2, err := StartEC2(context.Background(), src.Fetch, EC2Options{Addr: s.Addr(), Lazy: true}); err == nil {
		_ = s2.Close()
		t.Fatal("two servers on one address")
	}
}

func TestEC2OverHTTP(t *testing.T) {
	src := newFakeSource(nil, time.Hour)
	s := startEC2(t, src, EC2Options{})
	req, _ := http.NewRequest("PUT", s.URL()+"latest/api/token", nil)
	req.Header.Set(tokenTTLHeader, "300")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT token over HTTP: %d", resp.StatusCode)
	}
	code, body := get(t, s.URL()+strings.TrimPrefix(credsURL, "/")+DefaultRoleName, nil)
	if code != 200 || !strings.Contains(body, keyID(1)) {
		t.Fatalf("%d %s", code, body)
	}
}

func TestEC2ServesOnlyThisUserAndRoot(t *testing.T) {
	s := driveEC2(t, newFakeSource(newFakeClock(), time.Hour), EC2Options{})
	other := os.Getuid() + 1000
	for _, tt := range []struct {
		name string
		uid  int
		err  error
		want int
	}{
		{"this user", os.Getuid(), nil, 200},
		{"root (the proxy)", 0, nil, 200},
		{"another local user", other, nil, 403},
		{"owner unknown on a system that should know", -1, errNoSocket, 403},
		{"system that cannot tell", -1, errNoPeerUser, 200},
	} {
		s.users.uidOf = fixedUID(tt.uid, tt.err)
		w := serve(s, request("GET", credsURL+DefaultRoleName, MetadataIP, nil))
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, w.Code, tt.want, w.Body)
		}
		if tt.want == 403 && (strings.Contains(w.Body.String(), "ASIAFAKE") || !strings.Contains(w.Body.String(), "InvalidUser")) {
			t.Errorf("%s: %s", tt.name, w.Body)
		}
	}
}
