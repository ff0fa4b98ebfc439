//go:build unix

package e2e

// rolevault as a credential source for real clients: credential_process for
// the AWS CLI and boto3, exec for any program, an MFA prompt on a real
// terminal, one MFA prompt for many processes at once, exit codes and
// signals, the warm cache, and what must never reach stdout or the log.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

// TestRoleChainClients: the AWS CLI v2 through credential_process, the AWS
// CLI under exec, and boto3 through credential_process each call STS as the
// role at the end of login → role-a → role-b, with the very session the
// emulator issued for that chain, and the three share one MFA prompt.
func TestRoleChainClients(t *testing.T) {
	w := newWorld(t)
	awsCLI := debianAWS(t)
	python := debianPython(t)

	t.Run("awscli-credential_process", func(t *testing.T) {
		r := w.E.Exec(t, awsCLI, "sts", "get-caller-identity", "--profile", "cp-b", "--endpoint-url", w.URL, "--output", "json")
		expect(t, r, 0)
		id := parseCallerIdentity(t, r)
		w.checkRoleB(t, w.lastCaller(t), id.Arn)
		if id.Account != roleBAccount {
			t.Errorf("account %q, want %s", id.Account, roleBAccount)
		}
	})

	t.Run("awscli-exec", func(t *testing.T) {
		r := w.E.Run(t, "exec", "role-b", "--", awsCLI, "sts", "get-caller-identity", "--endpoint-url", w.URL, "--output", "json")
		expect(t, r, 0)
		w.checkRoleB(t, w.lastCaller(t), parseCallerIdentity(t, r).Arn)
	})

	t.Run("boto3-credential_process", func(t *testing.T) {
		r := w.E.Exec(t, python, "-c", `
import sys, boto3
s = boto3.Session(profile_name="cp-b")
c = s.get_credentials()
print(c.method, file=sys.stderr)
print(s.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"])
`, w.URL)
		expect(t, r, 0, "err:custom-process")
		w.checkRoleB(t, w.lastCaller(t), strings.TrimSpace(r.Stdout))
	})

	if n := w.mfaRuns(t); n != 1 || w.STS.Calls("GetSessionToken") != 1 || w.STS.MFAChecks() != 1 {
		t.Errorf("three clients, one chain: want 1 mfa_process run, 1 GetSessionToken and 1 MFA check; got %d, %d, %d",
			n, w.STS.Calls("GetSessionToken"), w.STS.MFAChecks())
	}
}

// TestWarmCacheAndDebugLog: a second export, and an exec after it, are
// served from the cache with no STS call and exactly one keyring read (the
// role-b session), and no --debug log, cold or warm, holds a secret key, a
// session token or an unmasked access key ID.
func TestWarmCacheAndDebugLog(t *testing.T) {
	w := newWorld(t)
	cold := w.E.Run(t, "--debug", "export", "--format=json", "role-b")
	expect(t, cold, 0, "err:rolevault: debug:")
	c1 := parseProcessCreds(t, cold.Stdout)

	w.STS.ResetCounters()
	warm := w.E.Run(t, "--debug", "export", "--format=json", "role-b")
	expect(t, warm, 0)
	c2 := parseProcessCreds(t, warm.Stdout)
	if c2 != c1 {
		t.Errorf("the warm run did not return the cached session:\ncold %+v\nwarm %+v", c1, c2)
	}
	if h := w.STS.History(); len(h) != 0 {
		t.Errorf("the warm run called STS: %+v", h)
	}
	if n := strings.Count(warm.Stderr, "rolevault: debug: keyring read "); n != 1 {
		t.Errorf("the warm run read the keyring %d times, want 1:\n%s", n, warm.Stderr)
	}
	if w.mfaRuns(t) != 1 {
		t.Errorf("mfa_process ran %d times, want 1", w.mfaRuns(t))
	}

	// exec's warm path is the same single read, before the child starts.
	warmExec := w.E.Run(t, "--debug", "exec", "role-b", "--", "sh", "-c", `test "$AWS_ACCESS_KEY_ID" = "$0"`, c1.AccessKeyID)
	expect(t, warmExec, 0)
	if n := strings.Count(warmExec.Stderr, "rolevault: debug: keyring read "); n != 1 {
		t.Errorf("the warm exec read the keyring %d times, want 1:\n%s", n, warmExec.Stderr)
	}
	if h := w.STS.History(); len(h) != 0 {
		t.Errorf("the warm exec called STS: %+v", h)
	}

	ids := []string{w.KeyID}
	for _, s := range w.STS.Sessions() {
		ids = append(ids, s.AccessKeyID)
	}
	for name, r := range map[string]Result{"cold": cold, "warm": warm, "warm exec": warmExec} {
		for _, s := range w.secrets() {
			if strings.Contains(r.Stderr, s) {
				t.Errorf("the %s --debug log holds secret %s…:\n%s", name, s[:6], r.Stderr)
			}
		}
		for _, id := range ids {
			if strings.Contains(r.Stderr, id) {
				t.Errorf("the %s --debug log holds the unmasked access key ID %s:\n%s", name, id, r.Stderr)
			}
		}
	}
}

// TestExportFailsWithEmptyStdout: when export --format=json fails, stdout
// stays empty, so a credential_process consumer never parses half a
// document or an error message as credentials.
func TestExportFailsWithEmptyStdout(t *testing.T) {
	w := newWorld(t)
	t.Run("wrong-mfa-code", func(t *testing.T) {
		r := w.E.Run(t, "export", "--format=json", "--mfa-token", wrongCode(w), "role-b")
		if r.Code == 0 || r.Stdout != "" {
			t.Errorf("want a failure with empty stdout, got %s", r)
		}
		if !strings.Contains(r.Stderr, "MFA") {
			t.Errorf("the error does not mention MFA: %s", r)
		}
		if w.STS.MFAChecks() != 1 {
			t.Errorf("the emulator checked %d codes, want 1 (a fixed --mfa-token cannot be retried)", w.STS.MFAChecks())
		}
	})
	t.Run("unknown-profile", func(t *testing.T) {
		r := w.E.Run(t, "export", "--format=json", "no-such-profile")
		if r.Code == 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "no-such-profile") {
			t.Errorf("want a failure naming the profile with empty stdout, got %s", r)
		}
	})
	t.Run("awscli-sees-the-failure", func(t *testing.T) {
		// Through credential_process, with a profile whose role the emulator
		// does not know: the CLI reports rolevault's error, not bad JSON.
		w.E.WriteConfig(t, w.config("[profile ghost]\nregion = us-east-1\nendpoint_url = "+w.URL+
			"\nsource_profile = login\nrole_arn = arn:aws:iam::"+roleAAccount+":role/ghost\n\n"+
			"[profile cp-ghost]\nregion = us-east-1\ncredential_process = "+binary+" export --format=json ghost\n"))
		r := w.E.Exec(t, debianAWS(t), "sts", "get-caller-identity", "--profile", "cp-ghost", "--endpoint-url", w.URL)
		if r.Code == 0 || !strings.Contains(r.Stderr, "Error when retrieving credentials from custom-process") ||
			strings.Contains(r.Stderr, "JSON") || strings.Contains(r.Stderr, "Expecting value") {
			t.Errorf("want the CLI to report rolevault's error (not a JSON parse error): %s", r)
		}
	})
}

// TestRoleMFAProcessServesSourceSession: mfa_process written only on the
// role profile is used for the GetSessionToken of its source, which names
// the same MFA device but has no mfa_process of its own.
func TestRoleMFAProcessServesSourceSession(t *testing.T) {
	w := newWorld(t)
	w.E.WriteConfig(t, w.config("[profile bare-login]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nmfa_serial = "+w.Serial+"\n\n"+
		"[profile with-process]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nsource_profile = bare-login\nrole_arn = "+w.RoleA+
		"\nmfa_serial = "+w.Serial+"\nmfa_process = "+w.MFAProcess+"\n"))
	w.E.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
	r := w.E.Run(t, "add", "bare-login", "--env", "--no-add-config")
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	expect(t, r, 0)
	r = w.E.Run(t, "export", "--format=json", "with-process")
	expect(t, r, 0)
	if w.mfaRuns(t) != 1 || w.STS.Calls("GetSessionToken") != 1 {
		t.Errorf("want the role's mfa_process to answer the source's GetSessionToken: %d runs, %d GetSessionToken; %s",
			w.mfaRuns(t), w.STS.Calls("GetSessionToken"), r)
	}
}

// wrongCode is a six-digit code the emulator does not accept now.
func wrongCode(w *world) string {
	now := w.STS.Now()
	bad := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		bad[ststest.TOTP(w.MFASecret, now.Add(d))] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", 123456+i)
		if !bad[c] {
			return c
		}
	}
}

// TestMFAPromptOnTerminalUnderAWSCLI: the AWS CLI runs credential_process
// on a real terminal; rolevault asks for the MFA code on the terminal (not
// on stdout, which the CLI parses as JSON), the code is typed, and the CLI
// gets role-b's credentials.
func TestMFAPromptOnTerminalUnderAWSCLI(t *testing.T) {
	w := newWorld(t)
	awsCLI := debianAWS(t)
	// The same chain with no mfa_process, so the terminal is the only way.
	w.E.WriteConfig(t, w.config(
		"[profile tty-login]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nmfa_serial = "+w.Serial+"\n\n"+
			"[profile tty-a]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nsource_profile = tty-login\nrole_arn = "+w.RoleA+"\nmfa_serial = "+w.Serial+"\n\n"+
			"[profile tty-b]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nsource_profile = tty-a\nrole_arn = "+w.RoleB+"\n\n"+
			"[profile cp-tty]\nregion = us-east-1\ncredential_process = "+binary+" export --format=json tty-b\n"))
	// tty-login shares login's stored key.
	w.E.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
	r := w.E.Run(t, "add", "tty-login", "--env", "--no-add-config")
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	expect(t, r, 0)

	out := filepath.Join(w.E.Home, "identity.json")
	tm := StartTerminal(t, w.E, "sh", "-c", `"$0" sts get-caller-identity --profile cp-tty --endpoint-url "$1" --output json >"$2"`,
		awsCLI, w.URL, out)
	tm.WaitFor("Enter MFA code for " + w.Serial)
	tm.Type(w.code())
	screen := tm.WaitFor("EXIT=")
	if !strings.Contains(screen, "EXIT=0") {
		t.Fatalf("the AWS CLI failed on the terminal:\n%s", screen)
	}
	b, err := os.ReadFile(out)
	must(t, err)
	id := parseCallerIdentity(t, Result{Stdout: string(b)})
	w.checkRoleB(t, w.lastCaller(t), id.Arn)
	if w.mfaRuns(t) != 0 || w.STS.MFAChecks() != 1 {
		t.Errorf("want the typed code and no mfa_process: %d mfa_process runs, %d MFA checks", w.mfaRuns(t), w.STS.MFAChecks())
	}
}

// TestConcurrentExportsShareOneMFAPrompt: eight processes ask for the same
// MFA profile at once with an empty cache. One of them runs mfa_process and
// GetSessionToken; the others wait for it (and say so) and read its session.
// All eight documents work at the emulator.
func TestConcurrentExportsShareOneMFAPrompt(t *testing.T) {
	w := newWorld(t)
	// Keep the first caller inside STS long enough that the others surely
	// find the lock taken.
	w.STS.SetLatency("GetSessionToken", 2*time.Second)

	const n = 8
	results := make([]Result, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			results[i] = runQuiet(w.E, time.Minute, binary, "export", "--format=json", "role-a")
		}()
	}
	start.Done()
	done.Wait()

	waited := 0
	for i, r := range results {
		if r.Code != 0 {
			t.Errorf("process %d: %s", i, r)
			continue
		}
		if strings.Contains(r.Stderr, "waiting for") {
			waited++
		}
		c := parseProcessCreds(t, r.Stdout)
		arn, err := w.callerIdentity(context.Background(), c)
		if err != nil {
			t.Errorf("process %d's credentials were refused: %v", i, err)
			continue
		}
		if s, ok := w.STS.Session(c.AccessKeyID); !ok || s.RoleArn != w.RoleA || s.Arn != arn {
			t.Errorf("process %d: %s is not a role-a session (%s)", i, c.AccessKeyID, arn)
		}
	}
	if got := w.mfaRuns(t); got != 1 {
		t.Errorf("mfa_process ran %d times, want 1", got)
	}
	if got := w.STS.Calls("GetSessionToken"); got != 1 {
		t.Errorf("%d GetSessionToken calls, want 1", got)
	}
	if got := w.STS.MFAChecks(); got != 1 {
		t.Errorf("%d MFA checks, want 1", got)
	}
	if got := w.STS.Calls("AssumeRole"); got != 1 {
		t.Errorf("%d AssumeRole calls, want 1 (the others should read the cached role-a session)", got)
	}
	if waited == 0 {
		t.Errorf("no process said it was waiting for another")
	}
}

// TestExecExitCodesAndSignals: the child's exit status and death by signal
// come back from exec as a shell would report them, with the child replacing
// rolevault and with the --ecs-server child that rolevault waits for; and a
// SIGTERM sent to rolevault reaches the child in both modes.
func TestExecExitCodesAndSignals(t *testing.T) {
	w := newWorld(t)
	expect(t, w.E.Run(t, "export", "--format=json", "role-b"), 0) // warm the cache once
	modes := map[string][]string{
		"in-place":   {"exec", "role-b", "--"},
		"ecs-server": {"exec", "--ecs-server", "role-b", "--"},
	}
	for name, args := range modes {
		t.Run(name, func(t *testing.T) {
			// Through sh, which reports death by a signal as 128+N, whether the
			// signal killed rolevault's replacement or rolevault exited 143.
			for _, c := range []struct {
				child string
				want  string
			}{
				{"exit 7", "rc=7"},
				{"exit 0", "rc=0"},
				{"kill -TERM $$", "rc=143"},
				{"kill -INT $$", "rc=130"},
			} {
				argv := append(append([]string{binary}, args...), "sh", "-c", c.child)
				q := make([]string, len(argv))
				for i, a := range argv {
					q[i] = shQuote(a)
				}
				r := w.E.Exec(t, "sh", "-c", strings.Join(q, " ")+"; echo rc=$?")
				if strings.TrimSpace(r.Stdout) != c.want {
					t.Errorf("child %q: want %s, got %s", c.child, c.want, r)
				}
			}
			// Directly: in server mode rolevault itself must exit 143.
			if name == "ecs-server" {
				r := w.E.Run(t, append(args, "sh", "-c", "kill -TERM $$")...)
				expect(t, r, 143)
			}
			checkSIGTERMReachesChild(t, w, args)
		})
	}
}

// checkSIGTERMReachesChild starts rolevault with a child that traps SIGTERM,
// waits until the child runs, sends SIGTERM to rolevault's pid only (not its
// process group), and expects the child's trap to run and its exit status
// (42) to come back.
func checkSIGTERMReachesChild(t *testing.T, w *world, args []string) {
	t.Helper()
	child := `trap 'echo got-TERM; exit 42' TERM; echo ready; while :; do sleep 0.1; done`
	cmd := exec.Command(binary, append(args, "sh", "-c", child)...)
	cmd.Env, cmd.Dir = w.E.Environ(), w.E.Home
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // our own group: no one else signals it
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }()
	lines := bufio.NewReader(stdout)
	ready := make(chan error, 1)
	go func() {
		line, err := lines.ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("first line %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("the child did not start: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the child did not start within 30 s; stderr: %s", stderr.String())
	}
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	// A signal that is swallowed leaves the child looping: give up after
	// 30 s (the deferred kill ends the group) rather than hang the suite.
	type end struct {
		rest []byte
		err  error
	}
	ended := make(chan end, 1)
	go func() {
		rest, _ := io.ReadAll(lines)
		ended <- end{rest, cmd.Wait()}
	}()
	var rest []byte
	select {
	case e := <-ended:
		rest, err = e.rest, e.err
	case <-time.After(30 * time.Second):
		t.Fatalf("SIGTERM to rolevault (%v): the child was still running 30 s later (signal not forwarded?); stderr: %s", args, stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if !strings.Contains(string(rest), "got-TERM") || code != 42 {
		t.Errorf("SIGTERM to rolevault (%v): want the child's trap and exit 42; got exit %d (%v), stdout %q, stderr %q",
			args, code, err, rest, stderr.String())
	}
}

// TestNoTerminalForMFAPrompt: a profile that needs an MFA code, run where no
// terminal exists (setsid drops the controlling terminal) and with no
// mfa_process: one line saying how to give a code, empty stdout, and no call
// to STS that could burn a code.
func TestNoTerminalForMFAPrompt(t *testing.T) {
	w := newWorld(t)
	requireTool(t, "setsid", "util-linux")
	w.E.WriteConfig(t, w.config("[profile bare-login]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nmfa_serial = "+w.Serial+"\n\n"+
		"[profile bare-role]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nsource_profile = bare-login\nrole_arn = "+w.RoleA+"\nmfa_serial = "+w.Serial+"\n"))
	w.E.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
	expect(t, w.E.Run(t, "add", "bare-login", "--env", "--no-add-config"), 0)
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	w.STS.ResetCounters()

	r := w.E.Exec(t, "setsid", binary, "export", "--format=json", "bare-role")
	if r.Code != 1 || r.Stdout != "" {
		t.Fatalf("want exit 1 and empty stdout: %s", r)
	}
	for _, want := range []string{"no terminal to ask for the MFA code for " + w.Serial, "--mfa-token", "mfa_process"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r)
		}
	}
	if n := len(w.STS.History()); n != 0 {
		t.Errorf("%d STS calls before a code was available, want 0", n)
	}
}

// TestWarmDebugShowsEveryKeyringScan: --debug reports keyring listings as
// well as reads, so a warm run that scans the keyring cannot pass for "one
// read". A role chain's warm run lists nothing; a profile with keys in
// ~/.aws/credentials lists once (to learn whether a stored key overrides the
// file's), and --debug says so.
func TestWarmDebugShowsEveryKeyringScan(t *testing.T) {
	w := newWorld(t)
	const listing = "rolevault: debug: keyring: listing every item"
	expect(t, w.E.Run(t, "export", "--format=json", "role-b"), 0)
	warm := w.E.Run(t, "--debug", "export", "--format=json", "role-b")
	expect(t, warm, 0)
	if strings.Contains(warm.Stderr, listing) {
		t.Errorf("the warm role-b run listed the keyring:\n%s", warm.Stderr)
	}

	// A world of its own: the emulator accepts each MFA code once.
	w = newWorld(t)
	must(t, os.WriteFile(w.E.Credentials, []byte("[filekeys]\naws_access_key_id = "+w.KeyID+"\naws_secret_access_key = "+w.Secret+"\n"), 0o600))
	w.E.WriteConfig(t, w.config("[profile filekeys]\nregion = "+worldRegion+"\nendpoint_url = "+w.URL+
		"\nmfa_serial = "+w.Serial+"\nmfa_process = "+w.MFAProcess+"\n"))
	expect(t, w.E.Run(t, "export", "--format=json", "filekeys"), 0)
	w.STS.ResetCounters()
	warm = w.E.Run(t, "--debug", "export", "--format=json", "filekeys")
	expect(t, warm, 0)
	if h := w.STS.History(); len(h) != 0 {
		t.Errorf("the warm filekeys run called STS: %+v", h)
	}
	if n := strings.Count(warm.Stderr, listing); n != 1 {
		t.Errorf("the warm filekeys run reported %d keyring listings, want 1 (the stored-key-beside-file check):\n%s", n, warm.Stderr)
	}
	if n := strings.Count(warm.Stderr, "rolevault: debug: keyring read "); n != 1 {
		t.Errorf("the warm filekeys run read the keyring %d times, want 1:\n%s", n, warm.Stderr)
	}
}
