//go:build linux || darwin

package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/keychain"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := Request{Op: OpSet, Item: &keyring.Item{Key: "prod", Data: []byte{0, 1, 2, 255}}}
	if err := WriteFrame(&buf, in); err != nil {
		t.Fatal(err)
	}
	if n := binary.BigEndian.Uint32(buf.Bytes()); int(n) != buf.Len()-4 {
		t.Fatalf("length prefix %d, frame %d bytes", n, buf.Len()-4)
	}
	var out Request
	if err := ReadFrame(&buf, &out); err != nil {
		t.Fatal(err)
	}
	if out.Op != OpSet || out.Item == nil || out.Item.Key != "prod" || !bytes.Equal(out.Item.Data, in.Item.Data) {
		t.Fatalf("read back %+v", out)
	}
}

func TestFrameRefusals(t *testing.T) {
	big := make([]byte, 4)
	binary.BigEndian.PutUint32(big, MaxFrame+1)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"HTTP GET", []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), ErrHTTP},
		{"HTTP POST", []byte("POST /get HTTP/1.1\r\n\r\n{}"), ErrHTTP},
		{"HTTP/2 preface", []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), ErrHTTP},
		{"oversize", append(big, make([]byte, 64)...), ErrFrameTooBig},
	} {
		var v Request
		if err := ReadFrame(bytes.NewReader(tc.in), &v); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := WriteFrame(&bytes.Buffer{}, Request{Passphrase: strings.Repeat("x", MaxFrame)}); !errors.Is(err, ErrFrameTooBig) {
		t.Errorf("writing an oversize frame: %v", err)
	}
	var v Request
	if err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 2, '{'}), &v); err == nil {
		t.Error("a truncated frame was read")
	}
}

// testAgent runs an agent on a file keyring in a temporary directory.
type testAgent struct {
	srv  *Server
	sock string
	dir  string // the file keyring
	now  time.Time
	mu   sync.Mutex
}

func fileOptions(dir string) keychain.Options {
	return keychain.Options{Backend: "file", FileDir: dir, LookupEnv: func(string) (string, bool) { return "", false }}
}

func startTestAgent(t *testing.T, pass string, tweak func(*Server)) *testAgent {
	t.Helper()
	base, err := os.MkdirTemp("", "rvag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	ta := &testAgent{sock: filepath.Join(base, "s", "agent.sock"), dir: filepath.Join(base, "keys"), now: time.Now()}
	if err := PrepareDir(ta.sock); err != nil {
		t.Fatal(err)
	}
	// A key stored with the passphrase, directly.
	o := fileOptions(ta.dir)
	o.LookupEnv = func(k string) (string, bool) { return pass, k == "AWS_VAULT_FILE_PASSPHRASE" }
	kr, _, err := keychain.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Set(keyring.Item{Key: "prod", Data: []byte(`{"AccessKeyID":"AKIA1"}`)}); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{Options: fileOptions(ta.dir), Passphrase: pass, Lifetime: time.Hour, Idle: 10 * time.Minute,
		Now: func() time.Time { ta.mu.Lock(); defer ta.mu.Unlock(); return ta.now }})
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(srv)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: ta.sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	ta.srv = srv
	return ta
}

func (ta *testAgent) advance(d time.Duration) {
	ta.mu.Lock()
	ta.now = ta.now.Add(d)
	ta.mu.Unlock()
	ta.srv.expire()
}

func (ta *testAgent) keyring(t *testing.T, pass string) *Keyring {
	t.Helper()
	c, err := Dial(ta.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Keyring{Client: c,
		Passphrase: func() (string, bool, error) { return pass, false, nil },
		Direct:     func() (keyring.Keyring, error) { return nil, errors.New("direct path used") }}
}

// The peer's uid is checked on every connection: an agent serving another
// uid than the caller's answers only with a refusal.
func TestPeerUIDRefused(t *testing.T) {
	ta := startTestAgent(t, "pw", func(s *Server) { s.uid = os.Getuid() + 1 })
	_, err := Dial(ta.sock)
	if err == nil || !strings.Contains(err.Error(), "refused: the rolevault agent serves only uid") {
		t.Fatalf("Dial to an agent of another uid: %v", err)
	}
}

// A client checks the agent's uid too: a socket another user managed to
// bind is not talked to, so it is never handed a passphrase.
func TestClientRefusesAnotherUsersAgent(t *testing.T) {
	ta := startTestAgent(t, "pw", nil)
	clientUID = func() int { return os.Getuid() + 1 }
	defer func() { clientUID = os.Getuid }()
	if _, err := Dial(ta.sock); err == nil || !strings.Contains(err.Error(), "is not yours") {
		t.Fatalf("Dial to an agent of another uid: %v", err)
	}
}

func TestVersionMismatch(t *testing.T) {
	ta := startTestAgent(t, "pw", nil)
	c, err := net.Dial("unix", ta.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := WriteFrame(c, Request{Op: OpHello, Protocol: Protocol, Version: Version + 1}); err != nil {
		t.Fatal(err)
	}
	var resp Response
	if err := ReadFrame(c, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Error == nil || resp.Error.Kind != KindVersion || resp.Version != Version {
		t.Fatalf("hello of another version answered %+v", resp)
	}
	var more Response
	if err := ReadFrame(c, &more); err == nil {
		t.Fatal("the connection stayed open after a version mismatch")
	}
}

// A web page can only make something send HTTP: the agent closes such a
// connection without an answer an HTTP client could read.
func TestHTTPRefused(t *testing.T) {
	ta := startTestAgent(t, "pw", nil)
	c, err := net.Dial("unix", ta.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /get?key=prod HTTP/1.1\r\nHost: localhost\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 512)
	n, err := c.Read(b)
	if n != 0 || err == nil {
		t.Fatalf("an HTTP request got %d bytes back (%q), err %v", n, b[:n], err)
	}
}

// Items are served from memory while their stored form is unchanged, read
// again when another process replaced them, and forgotten on lock.
func TestItemsHeldAndChecked(t *testing.T) {
	ta := startTestAgent(t, "pw", nil)
	k := ta.keyring(t, "pw")
	it, err := k.Get("prod")
	if err != nil || string(it.Data) != `{"AccessKeyID":"AKIA1"}` {
		t.Fatalf("Get: %q, %v", it.Data, err)
	}
	if st := ta.srv.Status(); st.Items != 1 || st.Locked {
		t.Fatalf("status after a read: %+v", st)
	}
	// Another process (no agent) replaces the item.
	o := fileOptions(ta.dir)
	o.LookupEnv = func(k string) (string, bool) { return "pw", k == "AWS_VAULT_FILE_PASSPHRASE" }
	direct, _, err := keychain.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := direct.Set(keyring.Item{Key: "prod", Data: []byte("v2")}); err != nil {
		t.Fatal(err)
	}
	if it, err := k.Get("prod"); err != nil || string(it.Data) != "v2" {
		t.Fatalf("Get after another process's write: %q, %v", it.Data, err)
	}
	if err := direct.Remove("prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get("prod"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Fatalf("Get after another process's remove: %v", err)
	}
	if err := k.Set(keyring.Item{Key: "dev", Data: []byte("d")}); err != nil {
		t.Fatal(err)
	}
	if it, err := direct.Get("dev"); err != nil || string(it.Data) != "d" {
		t.Fatalf("a write through the agent is not in the backend: %q, %v", it.Data, err)
	}
	ta.srv.Lock()
	if st := ta.srv.Status(); st.Items != 0 || !st.Locked {
		t.Fatalf("status after lock: %+v", st)
	}
	// Locked: the client hands in the passphrase and is served.
	if it, err := k.Get("dev"); err != nil || string(it.Data) != "d" {
		t.Fatalf("Get after lock: %q, %v", it.Data, err)
	}
}

// A wrong passphrase handed in by a client fails as the direct path fails
// and is not kept: the next run asks again.
func TestWrongPassphraseNotKept(t *testing.T) {
	ta := startTestAgent(t, "pw", nil)
	ta.srv.Lock()
	k := ta.keyring(t, "wrong")
	_, err := k.Get("prod")
	if !errors.Is(err, keychain.ErrWrongFilePassphrase) {
		t.Fatalf("Get with a wrong passphrase: %v", err)
	}
	var h interface{ Hint() string }
	if !errors.As(err, &h) || h.Hint() == "" {
		t.Errorf("no hint carried: %v", err)
	}
	if st := ta.srv.Status(); !st.Locked {
		t.Fatalf("the agent kept a wrong passphrase: %+v", st)
	}
	if it, err := ta.keyring(t, "pw").Get("prod"); err != nil || len(it.Data) == 0 {
		t.Fatalf("the right passphrase after a wrong one: %v", err)
	}
}

func TestLifetimeAndIdle(t *testing.T) {
	ta := startTestAgent(t, "pw", nil)
	k := ta.keyring(t, "pw")
	if _, err := k.Get("prod"); err != nil {
		t.Fatal(err)
	}
	ta.advance(9 * time.Minute)
	if st := ta.srv.Status(); st.Locked {
		t.Fatalf("locked before the idle time: %+v", st)
	}
	ta.advance(2 * time.Minute)
	if st := ta.srv.Status(); !st.Locked || st.Items != 0 {
		t.Fatalf("not locked after the idle time: %+v", st)
	}
	// Unlocked again by the next request; requests every 5 minutes keep it
	// from idling, but not past its lifetime.
	for i := 0; i < 11; i++ {
		if _, err := k.Get("prod"); err != nil {
			t.Fatal(err)
		}
		ta.advance(5 * time.Minute)
		if st := ta.srv.Status(); st.Locked {
			t.Fatalf("locked after %d requests 5 minutes apart: %+v", i+1, st)
		}
	}
	ta.advance(10 * time.Minute) // 65 minutes since the unlock
	if _, err := k.Client.Do(Request{Op: OpKeys}); err != nil {
		t.Fatal(err)
	}
	ta.srv.expire()
	if st := ta.srv.Status(); !st.Locked {
		t.Fatalf("not locked after its lifetime: %+v", st)
	}
}

func TestSocketDirChecks(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	var de *DirError
	if err := CheckDir(open); !errors.As(err, &de) || !strings.Contains(err.Error(), "open to others") {
		t.Errorf("CheckDir of a 0755 directory: %v", err)
	}
	if _, err := Dial(filepath.Join(open, "agent.sock")); !errors.As(err, &de) {
		t.Errorf("Dial in a 0755 directory: %v", err)
	}
	if _, err := Dial(filepath.Join(dir, "none", "agent.sock")); !errors.Is(err, ErrNoAgent) {
		t.Errorf("Dial with no directory: %v", err)
	}
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if p, _ := SocketPath(env(map[string]string{SockEnv: "/x/s", "XDG_RUNTIME_DIR": "/run/user/1"})); p != "/x/s" {
		t.Errorf("SocketPath with %s: %s", SockEnv, p)
	}
	if p, _ := SocketPath(env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"})); p != "/run/user/1/rolevault/agent.sock" {
		t.Errorf("SocketPath with XDG_RUNTIME_DIR: %s", p)
	}
}

// A client meeting an agent of another version does not use it (Dial says
// ErrOtherVersion, and the CLI opens the keyring directly).
func TestClientMeetsAnotherVersion(t *testing.T) {
	base, err := os.MkdirTemp("", "rvag")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	sock := filepath.Join(base, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var hello Request
		_ = ReadFrame(c, &hello)
		_ = WriteFrame(c, Response{Protocol: Protocol, Version: Version + 1, Error: &WireError{Kind: KindVersion, Message: "the agent speaks version 2"}})
	}()
	if _, err := Dial(sock); !errors.Is(err, ErrOtherVersion) {
		t.Fatalf("Dial to an agent of another version: %v", err)
	}
}
