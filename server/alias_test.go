package server

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestMetadataAlias(t *testing.T) {
	type call []string
	var calls []call
	run := func(fail bool) runFunc {
		return func(_ context.Context, argv []string) ([]byte, error) {
			calls = append(calls, argv)
			if fail {
				return []byte("RTNETLINK answers: Operation not permitted"), errors.New("exit status 2")
			}
			return nil, nil
		}
	}
	absent := func(netip.Addr) bool { return false }
	present := func(netip.Addr) bool { return true }
	ctx := context.Background()

	// Added as a /32 on lo, removed on undo.
	calls = nil
	undo, err := ensureMetadataAlias(ctx, "linux", absent, run(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	want := []call{
		{"ip", "addr", "add", "169.254.169.254/32", "dev", "lo"},
		{"ip", "addr", "del", "169.254.169.254/32", "dev", "lo"},
	}
	if !slices.EqualFunc(calls, want, func(a, b call) bool { return slices.Equal(a, b) }) {
		t.Fatalf("commands %q, want %q", calls, want)
	}

	// Already there (another proxy, the administrator): leave it alone.
	calls = nil
	undo, err = ensureMetadataAlias(ctx, "darwin", present, run(false))
	if err != nil || undo() != nil || len(calls) != 0 {
		t.Fatalf("with the address present: err %v, commands %q", err, calls)
	}

	// Failure names the command and carries its output.
	calls = nil
	_, err = ensureMetadataAlias(ctx, "linux", absent, run(true))
	if err == nil || !strings.Contains(err.Error(), "ip addr add 169.254.169.254/32 dev lo") ||
		!strings.Contains(err.Error(), "Operation not permitted") {
		t.Fatalf("error %v", err)
	}

	for _, goos := range []string{"darwin", "freebsd"} {
		add, del, err := aliasCommands(goos)
		if err != nil || add[0] != "ifconfig" || !slices.Contains(add, "255.255.255.255") || !slices.Contains(del, "-alias") {
			t.Errorf("%s: %q %q %v", goos, add, del, err)
		}
	}
	if _, _, err := aliasCommands("windows"); err == nil {
		t.Error("windows: no error for an OS without automation")
	}
}
