//go:build !windows

package prompt

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/testskip"
)

// tmuxRun runs the helper in mode on a real terminal (a tmux pane), with
// stdin from /dev/null and stdout and stderr in files, as botocore runs a
// credential_process. Afterwards the pane's shell records the terminal
// settings, to show the helper left them as it found them.
type tmuxRun struct {
	t    *testing.T
	env  []string
	dir  string
	tmux string
}

func startTmux(t *testing.T, mode string) *tmuxRun {
	t.Helper()
	path, err := exec.LookPath("tmux")
	if err != nil {
		testskip.Missing(t, "tmux", "tmux", "tmux is not installed (Debian/Ubuntu: apt-get install tmux)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &tmuxRun{t: t, dir: t.TempDir(), tmux: path}
	// A private server: its own socket directory, no user config, and a
	// POSIX shell whatever the developer's login shell is.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMUX=") && !strings.HasPrefix(kv, "TMUX_TMPDIR=") && !strings.HasPrefix(kv, "SHELL=") {
			r.env = append(r.env, kv)
		}
	}
	r.env = append(r.env, "TMUX_TMPDIR="+t.TempDir(), "SHELL=/bin/sh")
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	// The pane's shell ignores Ctrl-C's SIGINT with a trap (which its child
	// does not inherit), so it outlives the helper and reports its status.
	script := "trap : INT; env " + helperEnv + "=" + mode + " ROLEVAULT_PROMPT_PIDFILE=" + q(r.file("pid")) + " " + q(self) + " </dev/null >" + q(r.file("stdout")) + " 2>" + q(r.file("stderr")) +
		"; echo EXIT=$?; stty -a >" + q(r.file("stty")) + "; echo DONE; sleep 60"
	r.tmuxCmd("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "160", "-y", "30", script)
	t.Cleanup(func() {
		// This run's private server, not whatever server the default socket names.
		kill := exec.Command(path, "kill-server")
		kill.Env = r.env
		kill.Run()
	})
	return r
}

func (r *tmuxRun) file(name string) string { return filepath.Join(r.dir, name) }

func (r *tmuxRun) read(name string) string {
	b, err := os.ReadFile(r.file(name))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func (r *tmuxRun) tmuxCmd(args ...string) string {
	r.t.Helper()
	cmd := exec.Command(r.tmux, args...)
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (r *tmuxRun) screen() string { return r.tmuxCmd("capture-pane", "-p", "-t", "t") }

// waitFor polls the pane until it shows want. capture-pane drops trailing
// spaces, so want's are not required.
func (r *tmuxRun) waitFor(want string) string {
	r.t.Helper()
	want = strings.TrimRight(want, " ")
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := r.screen()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("terminal never showed %q; it shows:\n%s\nstderr: %s", want, s, r.read("stderr"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeLine types text literally, then Enter.
func (r *tmuxRun) typeLine(text string) {
	r.tmuxCmd("send-keys", "-t", "t", "-l", text)
	r.tmuxCmd("send-keys", "-t", "t", "Enter")
}

// finish waits for the helper to exit and returns its exit line.
func (r *tmuxRun) finish() string {
	r.t.Helper()
	s := r.waitFor("DONE")
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "EXIT=") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// checkTerminalRestored fails unless echo and line mode are on again.
func (r *tmuxRun) checkTerminalRestored() {
	r.t.Helper()
	fields := strings.FieldsFunc(r.read("stty"), func(c rune) bool { return c == ' ' || c == ';' || c == '\n' })
	have := map[string]bool{}
	for _, f := range fields {
		have[f] = true
	}
	for _, want := range []string{"echo", "icanon", "isig"} {
		if !have[want] || have["-"+want] {
			r.t.Errorf("terminal left with %s off:\n%s", want, r.read("stty"))
		}
	}
}

const mfaPrompt = "Enter MFA code for " + serial + ": "

func TestTmuxMFAPromptOnTerminalNotStdout(t *testing.T) {
	r := startTmux(t, "mfa")
	r.waitFor(mfaPrompt)
	r.typeLine("123456")
	if exit := r.finish(); exit != "EXIT=0" {
		t.Fatalf("helper %s; stderr: %s", exit, r.read("stderr"))
	}
	if got := r.read("stdout"); got != "code=123456\n" {
		t.Errorf("stdout = %q; want only the result, no prompt", got)
	}
	if got := r.read("stderr"); got != "" {
		t.Errorf("stderr = %q; the prompt belongs on the terminal", got)
	}
	// Visible input: the person sees what they typed after the prompt.
	if s := r.screen(); !strings.Contains(s, mfaPrompt+"123456") {
		t.Errorf("typed code not echoed after the prompt:\n%s", s)
	}
	r.checkTerminalRestored()
}

func TestTmuxMFAReasks(t *testing.T) {
	r := startTmux(t, "mfa-retry")
	r.waitFor(mfaPrompt)
	r.typeLine("12345")
	r.waitFor("5 digits were entered. Try again (try 2 of 3).")
	r.typeLine("111111")
	r.waitFor("AWS rejected that code (AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code)")
	r.typeLine("222222")
	if exit := r.finish(); exit != "EXIT=0" {
		t.Fatalf("helper %s; stderr: %s", exit, r.read("stderr"))
	}
	if got := r.read("stdout"); got != "codes=111111,222222\n" {
		t.Errorf("stdout = %q", got)
	}
	if n := strings.Count(r.screen(), mfaPrompt); n != 3 {
		t.Errorf("prompted %d times, want 3:\n%s", n, r.screen())
	}
}

func TestTmuxSecretIsHidden(t *testing.T) {
	r := startTmux(t, "secret")
	r.waitFor("Passphrase for the file keyring: ")
	r.typeLine("correct horse battery")
	if exit := r.finish(); exit != "EXIT=0" {
		t.Fatalf("helper %s; stderr: %s", exit, r.read("stderr"))
	}
	if got := r.read("stdout"); got != "secret=correct horse battery\n" {
		t.Errorf("stdout = %q", got)
	}
	if s := r.screen(); strings.Contains(s, "horse") {
		t.Errorf("secret echoed on the terminal:\n%s", s)
	}
	r.checkTerminalRestored()
}

// Ctrl-C while echo is off must not leave the person's terminal blind.
func TestTmuxSecretCtrlCRestoresTerminal(t *testing.T) {
	r := startTmux(t, "secret")
	r.waitFor("Passphrase for the file keyring: ")
	r.tmuxCmd("send-keys", "-t", "t", "-l", "half")
	r.tmuxCmd("send-keys", "-t", "t", "C-c")
	if exit := r.finish(); exit != "EXIT=130" {
		t.Fatalf("helper %s after Ctrl-C; want EXIT=130", exit)
	}
	if got := r.read("stderr"); got != "error: interrupted while asking for the file keyring passphrase\n" {
		t.Errorf("stderr = %q; want the one line naming what was interrupted", got)
	}
	if got := r.read("stdout"); got != "" {
		t.Errorf("stdout = %q", got)
	}
	r.checkTerminalRestored()
}

func TestTmuxConfirm(t *testing.T) {
	r := startTmux(t, "confirm")
	r.waitFor(`Delete credentials for profile "dev"? [y/N] `)
	r.typeLine("y")
	if exit := r.finish(); exit != "EXIT=0" {
		t.Fatalf("helper %s; stderr: %s", exit, r.read("stderr"))
	}
	if got := r.read("stdout"); got != "yes=true\n" {
		t.Errorf("stdout = %q", got)
	}
}

// On a terminal with nothing configured, Choose picks the terminal.
func TestTmuxChoosePicksTerminal(t *testing.T) {
	r := startTmux(t, "choose")
	r.waitFor(mfaPrompt)
	r.typeLine("654321")
	if exit := r.finish(); exit != "EXIT=0" {
		t.Fatalf("helper %s; stderr: %s", exit, r.read("stderr"))
	}
	if got := r.read("stdout"); got != "source=terminal code=654321\n" {
		t.Errorf("stdout = %q", got)
	}
}

// mfa_process gets the terminal as stdin and stderr although the helper's
// own stdin is /dev/null and its stderr a file.
func TestTmuxMFAProcessUsesTerminal(t *testing.T) {
	r := startTmux(t, "process")
	r.waitFor("Touch your key, then type the code: ")
	r.typeLine("777777")
	if exit := r.finish(); exit != "EXIT=0" {
		t.Fatalf("helper %s; stderr: %s", exit, r.read("stderr"))
	}
	if got := r.read("stdout"); got != "code=777777\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := r.read("stderr"); got != "" {
		t.Errorf("stderr = %q; mfa_process's prompt belongs on the terminal", got)
	}
}

// Without a controlling terminal (a new session, as for a daemon), there is
// nothing to open.
func TestNoControllingTerminal(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), helperEnv+"=available")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != "available=false\n" {
		t.Errorf("without a controlling terminal: %q", got)
	}
}

// signal sends sig to the helper, which wrote its pid before prompting.
func (r *tmuxRun) signal(sig syscall.Signal) {
	r.t.Helper()
	var pid int
	if _, err := fmt.Sscan(r.read("pid"), &pid); err != nil || pid <= 0 {
		r.t.Fatalf("no pid from the helper: %v", err)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		r.t.Fatal(err)
	}
}

// SIGTERM or SIGHUP while echo is off (a hidden prompt) used to kill the
// process with the terminal still raw: the person's shell stayed blind.
func TestTmuxSecretSignalsRestoreTerminal(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		exit string
		line string
	}{
		{syscall.SIGTERM, "EXIT=143", "error: interrupted by SIGTERM while asking for the file keyring passphrase\n"},
		{syscall.SIGHUP, "EXIT=129", "error: interrupted by SIGHUP while asking for the file keyring passphrase\n"},
		{syscall.SIGQUIT, "EXIT=131", "error: interrupted by SIGQUIT while asking for the file keyring passphrase\n"},
	} {
		t.Run(signalName(tc.sig), func(t *testing.T) {
			r := startTmux(t, "secret")
			r.waitFor("Passphrase for the file keyring: ")
			r.signal(tc.sig)
			if exit := r.finish(); exit != tc.exit {
				t.Fatalf("helper %s after %v; want %s; screen:\n%s", exit, tc.sig, tc.exit, r.screen())
			}
			if got := r.read("stderr"); got != tc.line {
				t.Errorf("stderr = %q, want %q", got, tc.line)
			}
			r.checkTerminalRestored()
		})
	}
}

// Ctrl-C at the visible MFA prompt names the device, not "context canceled".
func TestTmuxMFACtrlC(t *testing.T) {
	r := startTmux(t, "mfa")
	r.waitFor(mfaPrompt)
	r.tmuxCmd("send-keys", "-t", "t", "-l", "12")
	r.tmuxCmd("send-keys", "-t", "t", "C-c")
	if exit := r.finish(); exit != "EXIT=130" {
		t.Fatalf("helper %s after Ctrl-C; want EXIT=130", exit)
	}
	if got, want := r.read("stderr"), "error: interrupted while asking for the MFA code for "+serial+"\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	r.checkTerminalRestored()
}
