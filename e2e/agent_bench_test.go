package e2e

// `make bench` rows for the agent (issue 12): warm `export --format=json`
// through the agent with the file and the pass backend, and pass without it,
// as whole processes beside BenchmarkWarmExportJSON (file, no agent).

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// startAgent starts a detached agent for w's keyring on a short socket path
// (a socket path is limited to about 100 bytes) and stops it at the end.
func (w *benchWorld) startAgent(b *testing.B) {
	b.Helper()
	dir, err := os.MkdirTemp("", "rvab")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(dir, 0o700)
	w.env = append(w.env, "ROLEVAULT_AGENT_SOCK="+filepath.Join(dir, "agent.sock"))
	cmd := exec.Command(binary, "agent", "start")
	cmd.Env = w.env
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("agent start: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Agent pid (\d+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("agent start printed %q", out)
	}
	b.Cleanup(func() {
		_, _ = w.run("", nil, "agent", "stop")
		var pid int
		for _, c := range m[1] {
			pid = pid*10 + int(c-'0')
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		os.RemoveAll(dir)
	})
}

// usePass moves w to a fresh pass store (a throwaway GPG key without a
// passphrase) and stores alice's keys there, read back from the file keyring
// through the binary itself.
func (w *benchWorld) usePass(b *testing.B) {
	b.Helper()
	for _, tool := range []string{"pass", "gpg"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not installed: %v", tool, err)
		}
	}
	keys, err := w.run("", nil, "exec", "--no-session", "login", "--", "sh", "-c", `echo "$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY"`)
	f := strings.Fields(keys)
	if err != nil || len(f) != 2 {
		b.Fatalf("reading the stored keys: %v\n%s", err, keys)
	}
	gnupg, err := os.MkdirTemp("", "rvgpg") // short: gpg-agent's socket path is limited
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(gnupg, 0o700)
	env := []string{"GNUPGHOME=" + gnupg, "PASSWORD_STORE_DIR=" + filepath.Join(w.home, ".password-store")}
	b.Cleanup(func() {
		c := exec.Command("gpgconf", "--kill", "gpg-agent")
		c.Env = append(os.Environ(), env...)
		_ = c.Run()
		os.RemoveAll(gnupg)
	})
	sh := func(name string, args ...string) string {
		c := exec.Command(name, args...)
		c.Env = append(append([]string{}, w.env...), env...)
		out, err := c.CombinedOutput()
		if err != nil {
			b.Fatalf("%s %q: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	sh("gpg", "--batch", "--passphrase", "", "--quick-gen-key", "rolevault bench <bench@example.invalid>", "default", "default", "never")
	fpr := ""
	for _, line := range strings.Split(sh("gpg", "--list-secret-keys", "--with-colons"), "\n") {
		if p := strings.Split(line, ":"); len(p) > 9 && p[0] == "fpr" {
			fpr = p[9]
			break
		}
	}
	sh("pass", "init", fpr)
	w.env = append(w.env, env...)
	w.env = append(w.env, "AWS_VAULT_BACKEND=pass") // later entries win
	for _, p := range []string{"login", "login-mfa"} {
		if out, err := w.run("", []string{"AWS_ACCESS_KEY_ID=" + f[0], "AWS_SECRET_ACCESS_KEY=" + f[1]}, "add", "--env", p); err != nil {
			b.Fatalf("add %s to pass: %v\n%s", p, err, out)
		}
	}
}

func BenchmarkAgentWarmExportJSONFile(b *testing.B) {
	w := newBenchWorld(b)
	w.startAgent(b)
	w.warm(b, "export", "--format=json", "prod")
}

func BenchmarkAgentWarmExportJSONPass(b *testing.B) {
	w := newBenchWorld(b)
	w.usePass(b)
	w.startAgent(b)
	w.warm(b, "export", "--format=json", "prod")
}

func BenchmarkDirectWarmExportJSONPass(b *testing.B) {
	w := newBenchWorld(b)
	w.usePass(b)
	w.warm(b, "export", "--format=json", "prod")
}
