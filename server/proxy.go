package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"runtime"
	"time"
)

// RunProxy is `rolevault proxy`: it listens on listenAddr and forwards
// metadata requests to the EC2 server at target, so clients that cannot be
// pointed at another endpoint (older SDKs, tools with the address built in)
// find credentials where EC2 keeps them. It returns when ctx is done.
//
// In production listenAddr is MetadataAddr, which needs root; the proxy then
// also puts 169.254.169.254 on the loopback interface while it runs, unless
// it is there already. target is EC2ProxyTarget, where `exec --ec2-server`
// listens when the proxy is in use: a fixed address is how the two processes
// find each other.
//
// The proxy holds no credentials. It refuses peers that are not on this
// machine, users other than the owner of the server behind it (Linux), and
// Hosts other than the address it listens on, then forwards with Host:
// 169.254.169.254, which the EC2 server checks again. There is no
// unauthenticated /stop route (aws-vault has one, which any web page can
// hit); the proxy stops with its process.
func RunProxy(ctx context.Context, listenAddr, target string) (err error) {
	listen, err := netip.ParseAddrPort(listenAddr)
	if err != nil {
		return fmt.Errorf("proxy: listen address %q: %w", listenAddr, err)
	}
	if a := listen.Addr(); !a.IsLoopback() && a != netip.MustParseAddr(MetadataIP) {
		// Anything wider (0.0.0.0, a LAN address) would hand the person's
		// credentials to the network.
		return fmt.Errorf("proxy: refusing to listen on %s: only %s or a loopback address", listenAddr, MetadataIP)
	}
	h, err := newProxy(listen, target)
	if err != nil {
		return err
	}
	if listen.Addr() == netip.MustParseAddr(MetadataIP) {
		undo, aerr := ensureMetadataAlias(ctx, runtime.GOOS, hasLocalAddr, runCommand)
		if aerr != nil {
			return fmt.Errorf("proxy: %w", aerr)
		}
		defer func() {
			if uerr := undo(); uerr != nil && err == nil {
				err = fmt.Errorf("proxy: %w", uerr)
			}
		}()
	}
	ln, err := net.Listen("tcp", listen.String())
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	return serveProxy(ctx, ln, h)
}

// serveProxy serves h on ln until ctx is done, then shuts down gracefully.
func serveProxy(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("proxy: %w", err)
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			_ = srv.Close()
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("proxy: %w", err)
		}
		return nil
	}
}

type proxy struct {
	listen netip.AddrPort
	target netip.AddrPort
	hosts  []string
	users  userCheck
	rp     *httputil.ReverseProxy
}

func newProxy(listen netip.AddrPort, target string) (*proxy, error) {
	tgt, err := netip.ParseAddrPort(target)
	if err != nil {
		return nil, fmt.Errorf("proxy: target %q: want the EC2 server's loopback IP and port: %w", target, err)
	}
	if !tgt.Addr().IsLoopback() {
		return nil, fmt.Errorf("proxy: target %s is not a loopback address", target)
	}
	hosts := []string{listen.String()}
	if listen.Port() == 80 {
		hosts = append(hosts, listen.Addr().String())
	}
	tu := &url.URL{Scheme: "http", Host: tgt.String()}
	p := &proxy{
		listen: listen,
		target: tgt,
		hosts:  hosts,
		// Anyone on the machine can reach 169.254.169.254; only the person
		// whose server is behind the proxy (and root) is served.
		users: userCheck{uidOf: peerUID, allowed: ownerOf(tgt)},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(tu)
			// The proxy has checked Host against its own address; the EC2
			// server accepts the metadata IP (or its own address, which a
			// client of the proxy never uses), so pass the canonical name.
			pr.Out.Host = MetadataIP
			// Keep a client's own X-Forwarded-For (Rewrite drops it): it is
			// how the EC2 server, like EC2, spots a token request relayed
			// by some other HTTP proxy. The proxy adds none of its own.
			if v := pr.In.Header.Values("X-Forwarded-For"); len(v) > 0 {
				pr.Out.Header["X-Forwarded-For"] = v
			}
		},
		// Never through HTTP_PROXY: the target is on this machine.
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     idleTimeout,
		},
		ErrorLog: log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			writeError(w, http.StatusBadGateway, "NoCredentialServer",
				"no rolevault EC2 server answers on %s (start one with `rolevault exec --ec2-server`): %v", target, err)
		},
	}
	return p, nil
}

// noServer reports whether nothing listens on the target.
func (p *proxy) noServer() bool {
	_, err := listenerUID(p.target)
	return errors.Is(err, errNoSocket)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// 169.254.169.254 sits on a local interface, and most systems answer ARP
	// for local addresses on every interface, so a neighbour on the LAN (or a
	// VM or container whose traffic is NATed in) can reach this listener.
	// Connections made on this machine come from loopback or from the
	// metadata address itself.
	ip, ok := peerIP(r)
	if !ok || !(ip.IsLoopback() || ip == p.listen.Addr()) {
		writeError(w, http.StatusForbidden, "InvalidPeer", "only clients on this machine are served")
		return
	}
	if err := p.users.check(r); err != nil {
		if errors.Is(err, errNoSocket) && !errors.Is(err, errNoPeerUser) && p.noServer() {
			writeError(w, http.StatusBadGateway, "NoCredentialServer",
				"no rolevault EC2 server listens on %s (start one with `rolevault exec --ec2-server`)", p.target)
			return
		}
		writeError(w, http.StatusForbidden, "InvalidUser", "%v", err)
		return
	}
	if !hostIn(r, p.hosts...) {
		writeError(w, http.StatusForbidden, "InvalidHost", "requests must be addressed to %s", p.hosts[len(p.hosts)-1])
		return
	}
	if fromBrowser(r) {
		writeError(w, http.StatusForbidden, "BrowserRequest", "this endpoint does not serve web pages")
		return
	}
	p.rp.ServeHTTP(w, r)
}
