package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// startProxy runs the proxy on a loopback listener standing in for
// 169.254.169.254:80 and returns its address.
func startProxy(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, err := newProxy(netip.MustParseAddrPort(ln.Addr().String()), target)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveProxy(ctx, ln, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveProxy: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestProxyForwardsIMDSv2(t *testing.T) {
	src := newFakeSource(nil, time.Hour)
	ec2 := startEC2(t, src, EC2Options{})
	proxy := startProxy(t, ec2.Addr())

	req, _ := http.NewRequest("PUT", "http://"+proxy+"/latest/api/token", nil)
	req.Header.Set(tokenTTLHeader, "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT token through the proxy: %d %s (the proxy must not add X-Forwarded-For)", resp.StatusCode, tok)
	}
	code, body := get(t, "http://"+proxy+credsURL+DefaultRoleName, map[string]string{tokenHeader: string(tok)})
	if code != 200 || !strings.Contains(body, keyID(1)) {
		t.Fatalf("credentials through the proxy: %d %s", code, body)
	}
}

// What the server behind the proxy sees: Host 169.254.169.254, as a client
// on an EC2 instance would send it, and no X-Forwarded-For of the proxy's own
// (which would make the server refuse every IMDSv2 token request).
func TestProxyForwardsAsMetadataHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan *http.Request, 1)
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r
	})}
	go func() { _ = backend.Serve(ln) }()
	t.Cleanup(func() { _ = backend.Close() })

	proxy := startProxy(t, ln.Addr().String())
	req, _ := http.NewRequest("PUT", "http://"+proxy+"/latest/api/token", nil)
	req.Header.Set(tokenTTLHeader, "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r := <-seen
	if r.Host != MetadataIP {
		t.Errorf("server saw Host %q, want %q", r.Host, MetadataIP)
	}
	if v := r.Header.Values("X-Forwarded-For"); len(v) > 0 {
		t.Errorf("proxy added X-Forwarded-For %q", v)
	}
	if r.Header.Get(tokenTTLHeader) != "60" || r.Method != "PUT" || r.URL.Path != "/latest/api/token" {
		t.Errorf("request not forwarded intact: %s %s %v", r.Method, r.URL, r.Header)
	}
}

// A token request that already went through some other HTTP proxy is refused
// at the server, through our proxy as without it.
func TestProxyKeepsClientsForwardedFor(t *testing.T) {
	ec2 := startEC2(t, newFakeSource(nil, time.Hour), EC2Options{Lazy: true})
	proxy := startProxy(t, ec2.Addr())
	req, _ := http.NewRequest("PUT", "http://"+proxy+"/latest/api/token", nil)
	req.Header.Set(tokenTTLHeader, "60")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("forwarded token request: %d, want 403", resp.StatusCode)
	}
}

func TestProxyRefusals(t *testing.T) {
	src := newFakeSource(nil, time.Hour)
	ec2 := startEC2(t, src, EC2Options{})
	// As in production: listening on the metadata address. The handler is
	// driven directly, so nothing binds 169.254.169.254.
	p, err := newProxy(netip.MustParseAddrPort(MetadataAddr), ec2.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p.users.uidOf = fixedUID(os.Getuid(), nil) // no connection behind these requests
	creds := credsURL + DefaultRoleName
	for _, tt := range []struct {
		name string
		host string
		hdr  map[string]string
		want int
	}{
		{"local client", MetadataIP, nil, 200},
		{"local client, port in Host", MetadataAddr, nil, 200},
		{"client whose source is the metadata address", MetadataIP, map[string]string{"RemoteAddr": "169.254.169.254:40000"}, 200},
		{"rebinding host", "evil.example", nil, 403},
		{"loopback host", "127.0.0.1", nil, 403},
		{"server's own address", ec2.Addr(), nil, 403},
		{"LAN peer", MetadataIP, map[string]string{"RemoteAddr": "192.168.1.20:5555"}, 403},
		{"container behind NAT", MetadataIP, map[string]string{"RemoteAddr": "172.17.0.2:5555"}, 403},
		{"other link-local peer", MetadataIP, map[string]string{"RemoteAddr": "169.254.10.10:5555"}, 403},
		{"browser", MetadataIP, map[string]string{"Origin": "http://evil.example"}, 403},
		// aws-vault's proxy stops on an unauthenticated GET /stop, which any
		// page can send; here it is just a path the server does not have.
		{"aws-vault's /stop", MetadataIP, map[string]string{"path": "/stop"}, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := creds
			if alt, ok := tt.hdr["path"]; ok {
				path = alt
				delete(tt.hdr, "path")
			}
			w := serve(p, request("GET", path, tt.host, tt.hdr))
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want != 200 && strings.Contains(w.Body.String(), "ASIAFAKE") {
				t.Fatalf("refusal leaks credentials: %s", w.Body)
			}
		})
	}
}

func TestProxyWithoutServerSaysSo(t *testing.T) {
	// Reserve a port and free it, so nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	proxy := startProxy(t, target)
	code, body := get(t, "http://"+proxy+credsURL, nil)
	if code != http.StatusBadGateway || !strings.Contains(body, "exec --ec2-server") {
		t.Fatalf("%d %s", code, body)
	}
}

func TestRunProxyAddresses(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct{ listen, target string }{
		{"0.0.0.0:80", EC2ProxyTarget},
		{"192.0.2.1:80", EC2ProxyTarget},
		{":80", EC2ProxyTarget},
		{"localhost:80", EC2ProxyTarget},
		{"127.0.0.1:0", "192.0.2.1:9099"},
		{"127.0.0.1:0", "example.com:9099"},
	} {
		if err := RunProxy(ctx, tt.listen, tt.target); err == nil {
			t.Errorf("RunProxy(%q, %q) ran", tt.listen, tt.target)
		}
	}

	// A good one runs until its context ends, then returns nil.
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- RunProxy(ctx, "127.0.0.1:0", EC2ProxyTarget) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunProxy after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunProxy did not return after its context was cancelled")
	}
}

// The proxy is reachable by every account on the machine; it serves the
// owner of the EC2 server behind it (found in the socket table) and root.
func TestProxyServesOnlyTheServersOwner(t *testing.T) {
	ec2 := startEC2(t, newFakeSource(nil, time.Hour), EC2Options{})
	p, err := newProxy(netip.MustParseAddrPort(MetadataAddr), ec2.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p.users.allowed = func() ([]int, error) { return []int{1500, 0}, nil } // the server's owner
	for _, tt := range []struct {
		uid  int
		want int
	}{{1500, 200}, {0, 200}, {1501, 403}} {
		p.users.uidOf = fixedUID(tt.uid, nil)
		// Root's own request reaches the real server as this process, which
		// the server accepts; the refused one never leaves the proxy.
		w := serve(p, request("GET", credsURL+DefaultRoleName, MetadataIP, nil))
		if w.Code != tt.want {
			t.Errorf("uid %d: %d, want %d: %s", tt.uid, w.Code, tt.want, w.Body)
		}
	}
}
