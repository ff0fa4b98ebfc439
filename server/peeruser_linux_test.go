//go:build linux

package server

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procAddr writes addr the way the kernel prints it in /proc/net/tcp: 32-bit
// words in this machine's byte order, then the port.
func procAddr(ap netip.AddrPort) string {
	raw := ap.Addr().AsSlice()
	s := ""
	for i := 0; i < len(raw); i += 4 {
		s += fmt.Sprintf("%08X", binary.NativeEndian.Uint32(raw[i:i+4]))
	}
	return fmt.Sprintf("%s:%04X", s, ap.Port())
}

func TestParseProcNetTCP(t *testing.T) {
	client := netip.MustParseAddrPort("127.0.0.1:51000")
	server := netip.MustParseAddrPort("127.0.0.1:9099")
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), 52000)
	meta := netip.MustParseAddrPort("169.254.169.254:80")
	metaClient := netip.MustParseAddrPort("169.254.169.254:53000")
	line := func(i int, local, remote netip.AddrPort, st, uid int) string {
		return fmt.Sprintf("%4d: %s %s %02X 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 20 4 30 10 -1\n",
			i, procAddr(local), procAddr(remote), st, uid, 1000+i)
	}
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		line(0, server, netip.MustParseAddrPort("0.0.0.0:0"), tcpListen, 1000) +
		// An old connection on the same addresses, in TIME_WAIT: the kernel
		// shows uid 0 for those, and it must not be taken for the live one.
		line(1, client, server, 0x06, 0) +
		line(2, client, server, tcpEstablished, 1001) +
		line(3, server, client, tcpEstablished, 1000) +
		line(4, metaClient, meta, tcpEstablished, 1002) +
		"garbage line\n"
	table6 := line(0, mapped, netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), 9099), tcpEstablished, 1003)

	entries := append(parseProcNetTCP([]byte(table)), parseProcNetTCP([]byte(table6))...)
	if len(entries) != 6 {
		t.Fatalf("parsed %d entries, want 6: %+v", len(entries), entries)
	}
	find := func(match func(sockEntry) bool) int {
		for _, e := range entries {
			if match(e) {
				return e.uid
			}
		}
		return -1
	}
	for _, tt := range []struct {
		name  string
		match func(sockEntry) bool
		want  int
	}{
		{"client of the server, not its TIME_WAIT ghost", isConnection(client, server), 1001},
		{"server side is not the client", isConnection(server, client), 1000},
		{"dual-stack client", isConnection(netip.MustParseAddrPort("127.0.0.1:52000"), server), 1003},
		{"client of the metadata address", isConnection(metaClient, meta), 1002},
		{"listener", isListener(server), 1000},
		{"no such connection", isConnection(netip.MustParseAddrPort("127.0.0.1:1"), server), -1},
		{"nobody listens", isListener(meta), -1},
	} {
		if got := find(tt.match); got != tt.want {
			t.Errorf("%s: uid %d, want %d", tt.name, got, tt.want)
		}
	}
}

// The real socket table, on a real connection made by this process.
func TestSocketOwnersOfRealConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = c.Read(make([]byte, 1))
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	srv := netip.MustParseAddrPort(ln.Addr().String())
	uid, err := connectionUID(netip.MustParseAddrPort(c.LocalAddr().String()), srv)
	if err != nil || uid != os.Getuid() {
		t.Fatalf("connectionUID = %d, %v; want %d", uid, err, os.Getuid())
	}
	if uid, err := listenerUID(srv); err != nil || uid != os.Getuid() {
		t.Fatalf("listenerUID = %d, %v; want %d", uid, err, os.Getuid())
	}
	if _, err := connectionUID(netip.MustParseAddrPort("127.0.0.1:1"), srv); err == nil {
		t.Fatal("found a connection that does not exist")
	}
}

// helperEnv names the URL a re-executed test binary fetches (see
// TestHelperFetch).
const helperEnv = "ROLEVAULT_SERVER_TEST_FETCH"

// TestHelperFetch is not a test: run by TestOtherLocalUserIsRefused as
// another user, it fetches the URL in its environment and prints the status.
func TestHelperFetch(t *testing.T) {
	url := os.Getenv(helperEnv)
	if url == "" {
		t.Skip("helper process only")
	}
	code, body, err := tryGet(url, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Println(code, body)
	os.Exit(0)
}

// Another account on this machine, for real: a copy of this test binary run
// as nobody asks the EC2 server directly and through the proxy.
func TestOtherLocalUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	const nobody = 65534
	bin := copyForNobody(t)
	fetch := func(url string) string {
		t.Helper()
		cmd := exec.Command(bin, "-test.run=^TestHelperFetch$")
		cmd.Env = append(os.Environ(), helperEnv+"="+url)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, NoSetGroups: true}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper as nobody: %v\n%s", err, out)
		}
		return string(out)
	}

	src := newFakeSource(nil, time.Hour)
	ec2 := startEC2(t, src, EC2Options{})
	proxy := startProxy(t, ec2.Addr())
	for name, url := range map[string]string{
		"direct":            ec2.URL() + strings.TrimPrefix(credsURL, "/") + DefaultRoleName,
		"through the proxy": "http://" + proxy + credsURL + DefaultRoleName,
	} {
		out := fetch(url)
		if !strings.HasPrefix(out, "403 ") || !strings.Contains(out, "InvalidUser") || strings.Contains(out, "ASIAFAKE") {
			t.Errorf("%s, as nobody: %s", name, out)
		}
	}
	// The same request as this user is served: the refusal is about who.
	if code, body := get(t, "http://"+proxy+credsURL+DefaultRoleName, nil); code != 200 {
		t.Fatalf("as this user: %d %s", code, body)
	}
}

// copyForNobody copies the test binary where another user can run it: go
// test builds it in a directory only its owner may enter.
func copyForNobody(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rolevault-server-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "server.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
