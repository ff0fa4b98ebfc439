package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
)

// Loopback keeps other machines out, not other people: any account on this
// machine can connect to 127.0.0.1. The ECS server has its token for that;
// the EC2 server cannot (IMDS hands a session token to whoever asks), so where
// the kernel tells us who owns the other end of a connection, the EC2 server
// and the proxy serve only the person running rolevault, and root.

var (
	// errNoPeerUser means this system does not say who owns a connection.
	errNoPeerUser = errors.New("the owner of a connection cannot be found on this system")
	// errNoSocket means the socket table has no such socket.
	errNoSocket = errors.New("no such socket")
)

// uidFunc reports the user id that owns the client end of r's connection.
type uidFunc func(r *http.Request) (int, error)

// peerUID is the uidFunc for real connections: it finds the client's socket
// (local end = the request's RemoteAddr, remote end = the address that
// accepted it) in the kernel's socket table.
func peerUID(r *http.Request) (int, error) {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return -1, errors.New("no local address on the request")
	}
	ours, err := netip.ParseAddrPort(la.String())
	if err != nil {
		return -1, fmt.Errorf("local address %q: %w", la, err)
	}
	theirs, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return -1, fmt.Errorf("remote address %q: %w", r.RemoteAddr, err)
	}
	return connectionUID(theirs, ours)
}

// userCheck decides whether the user behind a request may be served.
type userCheck struct {
	uidOf uidFunc
	// allowed lists the user ids served; computed per request, because the
	// proxy allows whoever owns the server it forwards to.
	allowed func() ([]int, error)
}

// check returns nil when the request may be served. Where the system cannot
// tell (errNoPeerUser: not Linux) it allows, and docs/security.md says so;
// where it should be able to and fails, it refuses.
func (c userCheck) check(r *http.Request) error {
	uid, err := c.uidOf(r)
	if errors.Is(err, errNoPeerUser) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot tell which user is connecting: %w", err)
	}
	allowed, err := c.allowed()
	if err != nil {
		return fmt.Errorf("cannot tell which users to serve: %w", err)
	}
	for _, a := range allowed {
		if uid == a {
			return nil
		}
	}
	return fmt.Errorf("connection from user id %d; only %v are served", uid, allowed)
}

// sameUser allows this process's user and root. Root because the proxy (run
// with sudo) connects on behalf of its clients, and because root can read this
// process's memory anyway.
func sameUser() ([]int, error) {
	if uid := os.Getuid(); uid != 0 {
		return []int{uid, 0}, nil
	}
	return []int{0}, nil
}

// ownerOf allows whoever owns the socket listening on addr, and root: the
// proxy serves the person whose EC2 server it fronts. With nothing
// listening there the error wraps errNoSocket.
func ownerOf(addr netip.AddrPort) func() ([]int, error) {
	return func() ([]int, error) {
		uid, err := listenerUID(addr)
		if err != nil {
			return nil, fmt.Errorf("owner of %s: %w", addr, err)
		}
		if uid == 0 {
			return []int{0}, nil
		}
		return []int{uid, 0}, nil
	}
}
