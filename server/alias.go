package server

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"time"
)

// To listen on 169.254.169.254 the address must be on a local interface. The
// proxy puts it on the loopback interface while it runs and takes it off when
// it stops, if it was not there before. It adds a /32, where aws-vault adds a
// /24: a /24 routes all of 169.254.169.0/24 to loopback, which on a real EC2
// instance would hide Amazon Time Sync (169.254.169.123) and the DNS resolver
// (169.254.169.253).

// aliasCommands returns the commands that add and remove the metadata address
// on goos's loopback interface.
func aliasCommands(goos string) (add, del []string, err error) {
	switch goos {
	case "linux":
		return []string{"ip", "addr", "add", MetadataIP + "/32", "dev", "lo"},
			[]string{"ip", "addr", "del", MetadataIP + "/32", "dev", "lo"}, nil
	case "darwin", "freebsd", "openbsd", "netbsd", "dragonfly":
		return []string{"ifconfig", "lo0", "alias", MetadataIP, "netmask", "255.255.255.255"},
			[]string{"ifconfig", "lo0", "-alias", MetadataIP}, nil
	default:
		return nil, nil, fmt.Errorf("adding %s to the loopback interface is not automated on %s; add it by hand and run the proxy again", MetadataIP, goos)
	}
}

// runFunc runs a command and returns its combined output.
type runFunc func(ctx context.Context, argv []string) ([]byte, error)

func runCommand(ctx context.Context, argv []string) ([]byte, error) {
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}

// hasLocalAddr reports whether ip is on one of this machine's interfaces.
func hasLocalAddr(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == ip {
			return true
		}
	}
	return false
}

// ensureMetadataAlias makes sure MetadataIP is a local address and returns the
// function that undoes what it did (nothing, if the address was already
// there, so a second proxy or an administrator's own setup is left alone).
func ensureMetadataAlias(ctx context.Context, goos string, present func(netip.Addr) bool, run runFunc) (undo func() error, err error) {
	ip := netip.MustParseAddr(MetadataIP)
	if present(ip) {
		return func() error { return nil }, nil
	}
	add, del, err := aliasCommands(goos)
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := run(actx, add); err != nil {
		return nil, fmt.Errorf("adding %s to the loopback interface (`%s`, which needs root): %v: %s",
			MetadataIP, strings.Join(add, " "), err, strings.TrimSpace(string(out)))
	}
	return func() error {
		// The caller's context is usually done by now; removal must still run.
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := run(dctx, del); err != nil {
			return fmt.Errorf("removing %s from the loopback interface (`%s`): %v: %s",
				MetadataIP, strings.Join(del, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}, nil
}
