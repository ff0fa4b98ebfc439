package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Timeouts for the HTTP servers. Reading a request's header is bounded so a
// local process cannot hold connections open forever; writing is not, because
// a response may legitimately wait up to the refresh timeout for credentials.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 90 * time.Second
)

// newSecret returns n random bytes from crypto/rand, URL-safe base64 encoded:
// header-safe, so no SDK rejects it (the Go SDK refuses tokens containing CR
// or LF, botocore anything that is not a legal header value).
func newSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// equalSecret compares in constant time so the time a wrong guess takes says
// nothing about how much of it was right.
func equalSecret(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// loopbackListen listens on addr, which must be a literal loopback IP and a
// port: the servers hand out credentials, so they never listen where another
// machine could reach them, and a name like "localhost" could resolve to
// anything.
func loopbackListen(addr string) (net.Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: want a loopback IP and port such as 127.0.0.1:0: %w", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("listen address %q is not a loopback address", addr)
	}
	return net.Listen("tcp", ap.String())
}

// hostIn reports whether the request's Host header is one of allowed. Host names
// compare without regard to case (RFC 9110 §4.2.3); anything else, including a
// missing Host, is refused. A page that mounts a DNS-rebinding attack reaches
// the server under its own name, so its requests carry that name here.
func hostIn(r *http.Request, allowed ...string) bool {
	for _, a := range allowed {
		if strings.EqualFold(r.Host, a) {
			return true
		}
	}
	return false
}

// fromBrowser reports whether the request carries headers only browsers send.
// No SDK sets Origin or the Sec-Fetch-* family; a request with them comes from
// a web page, whatever its Host, and a page has no business here. This is a
// second wall behind the Host check and the token, not a replacement for them.
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Origin") != "" ||
		r.Header.Get("Sec-Fetch-Site") != "" ||
		r.Header.Get("Sec-Fetch-Mode") != ""
}

// peerIP is the IP the connection came from.
func peerIP(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// errorDoc is the body of every refusal and failure. The Go SDK's container
// provider decodes {"code","message"} into its error (but only when
// Content-Type is exactly "application/json"); botocore quotes the body in
// its error; curl users read it.
type errorDoc struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, errorDoc{Code: code, Message: fmt.Sprintf(format, args...)})
}

// writeJSON sends a JSON document. no-store keeps credentials out of any cache
// between the client and us; nosniff keeps a browser from reading the body as
// anything but JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// logf is a nil-safe debug logger.
type logf func(format string, args ...any)

func (l logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}
