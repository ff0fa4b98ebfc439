//go:build unix

package e2e

// How rolevault reads ~/.aws/config and ~/.aws/credentials where the AWS
// CLI and SDK read them in ways people rely on, and how it stays bounded on
// input no real config has.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

// writeHelper writes an executable credential_process helper that prints a
// Version 1 document only when it gets exactly the arguments want, so a
// command split over several lines proves it ran as one command.
func writeHelper(t *testing.T, e *Env, want string) string {
	t.Helper()
	path := filepath.Join(e.Home, "helper.sh")
	script := "#!/bin/sh\nif [ \"$*\" != " + shQuote(want) + " ]; then echo \"helper got: $*\" >&2; exit 3; fi\n" +
		`echo '{"Version": 1, "AccessKeyId": "AKIAHELPERHELPER0001", "SecretAccessKey": "helper-secret"}'` + "\n"
	must(t, os.WriteFile(path, []byte(script), 0o700))
	return path
}

// TestConfigContinuationLine: a long credential_process continued on an
// indented line, which the AWS CLI and SDK accept, used to make the whole
// file fail to parse. Now the continued command runs as one command, and
// the other profiles still work.
func TestConfigContinuationLine(t *testing.T) {
	e := NewEnv(t)
	helper := writeHelper(t, e, "--account 111111111111 --role deploy")
	e.WriteConfig(t, "[profile other]\nregion = eu-west-1\n\n"+
		"[profile cp]\ncredential_process = "+helper+" --account 111111111111\n    --role deploy\nregion = eu-west-1\n")
	r := e.Run(t, "export", "--format=json", "cp")
	expect(t, r, 0, "out:AKIAHELPERHELPER0001")
	r = e.Run(t, "list", "--profiles")
	expect(t, r, 0, "out:other", "out:cp")
}

// TestConfigPartialKeysAcrossFiles: a key ID in the config file and a secret
// in the credentials file used to be paired into one key. The AWS CLI and
// SDKs refuse such partial credentials; rolevault says where each half is,
// before any AWS call.
func TestConfigPartialKeysAcrossFiles(t *testing.T) {
	e := NewEnv(t)
	e.WriteConfig(t, "[profile a]\nregion = eu-west-1\naws_access_key_id = AKIAPARTIALPARTIAL01\n")
	must(t, os.WriteFile(e.Credentials, []byte("[a]\naws_secret_access_key = partial-secret\n"), 0o600))
	r := e.Run(t, "export", "a")
	expect(t, r, 1, "err:"+e.Config+":3:", `err:profile "a"`,
		"err:aws_access_key_id is in "+e.Config+" but aws_secret_access_key is in "+e.Credentials)
	if strings.Contains(r.Stderr+r.Stdout, "partial-secret") {
		t.Errorf("the secret was printed:\n%s", r)
	}
}

// connectProxy is an HTTPS proxy that sends every CONNECT to target (the
// emulator's TLS port) and records the host each client asked for, so a
// client that calls the real STS host name reaches the emulator, and a test
// can tell which name it used.
type connectProxy struct {
	URL   string
	mu    sync.Mutex
	hosts []string
}

func startConnectProxy(t *testing.T, target string) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	p := &connectProxy{URL: "http://" + ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(conn, target)
		}
	}()
	return p
}

func (p *connectProxy) serve(conn net.Conn, target string) {
	defer conn.Close()
	req, err := http.ReadRequest(bufio.NewReader(conn))
	if err != nil || req.Method != http.MethodConnect {
		fmt.Fprint(conn, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.mu.Lock()
	p.hosts = append(p.hosts, req.Host)
	p.mu.Unlock()
	up, err := net.Dial("tcp", target)
	if err != nil {
		fmt.Fprint(conn, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	fmt.Fprint(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, conn); done <- struct{}{} }()
	go func() { io.Copy(conn, up); done <- struct{}{} }()
	<-done
}

func (p *connectProxy) Hosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hosts...)
}

// endpointWorld is an IAM user's stored key and the emulator on HTTPS, with
// the real STS host names sent to it by a CONNECT proxy: a call that ignores
// every configured endpoint still reaches the emulator, one that goes to a
// configured endpoint goes there.
type endpointWorld struct {
	E      *Env
	STS    *ststest.Server
	URL    string // the emulator's own https://127.0.0.1:PORT
	CA     string // its CA's PEM file
	Proxy  *connectProxy
	Closed string // an endpoint nothing listens on
}

func newEndpointWorld(t *testing.T) *endpointWorld {
	t.Helper()
	skipIfE2EOff(t)
	s := ststest.New()
	w := &endpointWorld{STS: s, Closed: "https://127.0.0.1:9"}
	w.URL, w.CA = s.StartTLS()
	t.Cleanup(s.Close)
	id, secret := s.AddUser(loginAccount, "carol")
	w.Proxy = startConnectProxy(t, strings.TrimPrefix(w.URL, "https://"))
	w.E = NewEnv(t)
	w.E.Set("AWS_VAULT_BACKEND", "file",
		"AWS_VAULT_FILE_DIR", filepath.Join(w.E.Home, "keys"),
		"AWS_VAULT_FILE_PASSPHRASE", "e2e-file-passphrase",
		"HTTPS_PROXY", w.Proxy.URL)
	w.E.WriteConfig(t, "[profile carol]\nregion = us-east-1\n")
	w.E.Set("AWS_ACCESS_KEY_ID", id, "AWS_SECRET_ACCESS_KEY", secret)
	r := w.E.Run(t, "add", "carol", "--env", "--no-add-config")
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	expect(t, r, 0)
	if r.Code != 0 {
		t.FailNow()
	}
	return w
}

// sessions is how many GetSessionToken calls the emulator answered.
func (w *endpointWorld) sessions() int {
	n := 0
	for _, c := range w.STS.History() {
		if c.Action == "GetSessionToken" && c.Code == "" {
			n++
		}
	}
	return n
}

// TestConfigIgnoreConfiguredEndpointURLs: ignore_configured_endpoint_urls =
// true in the profile, or AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true, makes
// STS calls go to the real STS host name, not to a configured endpoint_url
// (profile, services section or AWS_ENDPOINT_URL*) the user meant to switch
// off.
func TestConfigIgnoreConfiguredEndpointURLs(t *testing.T) {
	w := newEndpointWorld(t)
	w.E.WriteConfig(t, "[profile carol]\nregion = us-east-1\nca_bundle = "+w.CA+"\n"+
		"endpoint_url = "+w.Closed+"\nservices = local\nignore_configured_endpoint_urls = true\n\n"+
		"[services local]\nsts =\n  endpoint_url = "+w.Closed+"\n")
	r := w.E.Run(t, "export", "--format=json", "carol")
	expect(t, r, 0, "out:AccessKeyId")
	if got := w.Proxy.Hosts(); len(got) != 1 || got[0] != "sts.us-east-1.amazonaws.com:443" {
		t.Errorf("STS calls went through the proxy to %q, want sts.us-east-1.amazonaws.com:443 once", got)
	}

	// The variable alone, with endpoints from the environment too.
	w.E.WriteConfig(t, "[profile carol]\nregion = us-east-1\nca_bundle = "+w.CA+"\nendpoint_url = "+w.Closed+"\n")
	w.E.Set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", "AWS_ENDPOINT_URL", w.Closed, "AWS_ENDPOINT_URL_STS", w.Closed)
	expect(t, w.E.Run(t, "clear", "carol"), 0)
	r = w.E.Run(t, "export", "--format=json", "carol")
	expect(t, r, 0, "out:AccessKeyId")
	if n := w.sessions(); n != 2 {
		t.Errorf("the emulator answered %d GetSessionToken calls, want 2", n)
	}
	if got := w.Proxy.Hosts(); len(got) != 2 {
		t.Errorf("STS calls went through the proxy to %q, want twice to sts.us-east-1.amazonaws.com:443", got)
	}
}

// TestConfigCABundle: a profile's ca_bundle is the CA bundle for HTTPS, as
// in the SDKs (it used to be ignored, only AWS_CA_BUNDLE counted), and
// AWS_CA_BUNDLE wins over it.
func TestConfigCABundle(t *testing.T) {
	w := newEndpointWorld(t)
	w.E.WriteConfig(t, "[profile carol]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nca_bundle = "+w.CA+"\n")
	r := w.E.Run(t, "export", "--format=json", "carol")
	expect(t, r, 0, "out:AccessKeyId")
	if n := w.sessions(); n != 1 {
		t.Errorf("the emulator answered %d GetSessionToken calls, want 1", n)
	}

	// AWS_CA_BUNDLE wins: a bad one is reported, naming the variable.
	expect(t, w.E.Run(t, "clear", "carol"), 0)
	bad := filepath.Join(w.E.Home, "not-a-ca.pem")
	must(t, os.WriteFile(bad, []byte("no certificates here\n"), 0o600))
	w.E.Set("AWS_CA_BUNDLE", bad)
	r = w.E.Run(t, "export", "--format=json", "carol")
	expect(t, r, 1, "err:AWS_CA_BUNDLE "+bad+" holds no PEM certificates")

	// A bad ca_bundle in the profile names the profile and the file.
	delete(w.E.Vars, "AWS_CA_BUNDLE")
	w.E.WriteConfig(t, "[profile carol]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nca_bundle = "+bad+"\n")
	r = w.E.Run(t, "export", "--format=json", "carol")
	expect(t, r, 1, "err:ca_bundle "+bad+` of profile "carol"`, "err:holds no PEM certificates")
}

// TestConfigServicesSection: an STS endpoint in the [services NAME] section
// the profile names (services = NAME) is where STS calls go; it beats the
// profile's own endpoint_url, as in the SDKs.
func TestConfigServicesSection(t *testing.T) {
	w := newEndpointWorld(t)
	w.E.Set("AWS_CA_BUNDLE", w.CA)
	w.E.WriteConfig(t, "[profile carol]\nregion = us-east-1\nendpoint_url = "+w.Closed+"\nservices = local\n\n"+
		"[services local]\ns3 =\n  endpoint_url = "+w.Closed+"\nsts =\n  endpoint_url = "+w.URL+"\n")
	r := w.E.Run(t, "export", "--format=json", "carol")
	expect(t, r, 0, "out:AccessKeyId")
	if n := w.sessions(); n != 1 {
		t.Errorf("the emulator answered %d GetSessionToken calls, want 1", n)
	}
	if got := w.Proxy.Hosts(); len(got) != 0 {
		t.Errorf("STS calls went through the proxy to %q, want them sent to the services section's endpoint", got)
	}
}

// runBounded runs rolevault with a deadline, for inputs that used to hang:
// the test fails, instead of waiting a minute, if it does not finish.
func runBounded(t *testing.T, e *Env, args ...string) Result {
	t.Helper()
	r := runQuiet(e, 20*time.Second, append([]string{binary}, args...)...)
	if r.Code == -1 {
		t.Fatalf("%q did not finish within 20s (it hangs):\n%s", args, r)
	}
	return r
}

// TestConfigUnboundedInput: a config file that is a device or a FIFO, or a
// value megabytes long, is a short one-line error: no out-of-memory crash
// (/dev/zero), no hang (a FIFO nobody writes), no 10 MB message.
func TestConfigUnboundedInput(t *testing.T) {
	e := NewEnv(t)
	check := func(t *testing.T, r Result, wants ...string) {
		t.Helper()
		if r.Code != 1 {
			t.Errorf("want exit 1, got %.600s", r)
		}
		if len(r.Stderr) > 1024 || strings.Count(strings.TrimSpace(r.Stderr), "\n") > 1 {
			t.Errorf("stderr is %d bytes, %d lines; want an error line and a hint: %.300q", len(r.Stderr), strings.Count(r.Stderr, "\n"), r.Stderr)
		}
		for _, w := range wants {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("stderr lacks %q: %.300q", w, r.Stderr)
			}
		}
	}

	t.Run("/dev/zero", func(t *testing.T) {
		e.Set("AWS_CONFIG_FILE", "/dev/zero")
		check(t, runBounded(t, e, "list", "--profiles"), "/dev/zero", "not a regular file")
	})
	t.Run("FIFO", func(t *testing.T) {
		fifo := filepath.Join(e.Home, "config.fifo")
		must(t, syscall.Mkfifo(fifo, 0o600))
		e.Set("AWS_CONFIG_FILE", fifo)
		check(t, runBounded(t, e, "export", "dev"), fifo, "not a regular file")
	})
	t.Run("too large", func(t *testing.T) {
		big := filepath.Join(e.Home, "big")
		must(t, os.WriteFile(big, []byte("[profile a]\nregion = x\n"+strings.Repeat("# padding\n", 2<<20)), 0o600))
		e.Set("AWS_CONFIG_FILE", big)
		check(t, runBounded(t, e, "list", "--profiles"), big, "larger than 16 MiB")
	})
	t.Run("10 MB role_arn", func(t *testing.T) {
		e.Set("AWS_CONFIG_FILE", e.Config)
		e.WriteConfig(t, "[profile dev]\nsource_profile = dev\nrole_arn = arn:"+strings.Repeat("x", 10<<20)+"\n")
		check(t, runBounded(t, e, "export", "dev"), "role_arn", "is not an IAM role ARN", "…")
	})
	t.Run("/dev/null is an empty config", func(t *testing.T) {
		e.Set("AWS_CONFIG_FILE", os.DevNull)
		r := runBounded(t, e, "list", "--profiles")
		if r.Code != 0 {
			t.Errorf("want exit 0, got %s", r)
		}
	})
}
