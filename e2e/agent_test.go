package e2e

// The agent through the binary: the file passphrase typed once serves many
// runs; results with and without the agent are the same; another user is
// refused; a killed agent costs nothing but the speed; lifetime, idle and
// lock forget the secrets; 64 concurrent callers share one MFA prompt.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// agentSock points e at a socket in a new short directory (a socket path is
// limited to about 100 bytes) and stops any agent there when the test ends.
func agentSock(t *testing.T, e *Env) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rva")
	must(t, err)
	must(t, os.Chmod(dir, 0o700))
	sock := filepath.Join(dir, "agent.sock")
	e.Set("ROLEVAULT_AGENT_SOCK", sock)
	t.Cleanup(func() {
		e.Exec(t, "rolevault", "agent", "stop")
		os.RemoveAll(dir)
	})
	return sock
}

var agentPidRe = regexp.MustCompile(`echo Agent pid (\d+);`)

// startAgent runs `rolevault agent start ARGS` (detached) and returns its pid.
func startAgent(t *testing.T, e *Env, args ...string) int {
	t.Helper()
	r := e.Run(t, append([]string{"agent", "start"}, args...)...)
	expect(t, r, 0, "out:ROLEVAULT_AGENT_SOCK=", "out:export ROLEVAULT_AGENT_SOCK;")
	return agentPid(t, r.Stdout)
}

func agentPid(t *testing.T, out string) int {
	t.Helper()
	m := agentPidRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no agent pid in %q", out)
	}
	var pid int
	fmt.Sscan(m[1], &pid)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// agentStatus is `rolevault agent status` as fields.
func agentStatus(t *testing.T, e *Env) map[string]string {
	t.Helper()
	r := e.Run(t, "agent", "status")
	expect(t, r, 0)
	st := map[string]string{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			st[k] = strings.TrimSpace(v)
		}
	}
	return st
}

// waitStatus polls the agent's status until want matches the state line,
// for expiry tests: they check what the agent did, not when.
func waitStatus(t *testing.T, e *Env, want string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := agentStatus(t, e)
		if strings.HasPrefix(st["agent"], want) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent never became %q: %v", want, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// servedByAgent checks with --debug that a run went through the agent.
func servedByAgent(t *testing.T, e *Env, args ...string) {
	t.Helper()
	r := e.Run(t, append([]string{"--debug"}, args...)...)
	expect(t, r, 0, "err:served by the agent at "+e.Vars["ROLEVAULT_AGENT_SOCK"])
}

// The passphrase typed once on the terminal serves many exec and export runs
// that have no terminal at all (a direct run there fails for want of one).
func TestAgentPassphraseOnce(t *testing.T) {
	w := newWorld(t)
	e := w.E
	agentSock(t, e)
	delete(e.Vars, "AWS_VAULT_FILE_PASSPHRASE")

	noTTY := e.Run(t, "export", "--format=json", "role-b")
	expect(t, noTTY, 1, "err:needs its passphrase, and there is no terminal to ask on")

	tm := StartTerminal(t, e, "rolevault", "agent", "start")
	tm.WaitFor("Passphrase for the file keyring in " + e.Vars["AWS_VAULT_FILE_DIR"])
	tm.Type("e2e-file-passphrase")
	screen := tm.WaitFor("EXIT=0")
	agentPid(t, screen)
	if strings.Contains(screen, "e2e-file-passphrase") {
		t.Fatalf("the passphrase was echoed:\n%s", screen)
	}

	for i := 0; i < 3; i++ {
		r := e.Run(t, "export", "--format=json", "role-b")
		expect(t, r, 0)
		c := parseProcessCreds(t, r.Stdout)
		arn, err := w.callerIdentity(t.Context(), c)
		must(t, err)
		w.checkRoleB(t, c.AccessKeyID, arn)
		r = e.Run(t, "exec", "role-b", "--", "sh", "-c", `test -n "$AWS_SESSION_TOKEN" && echo "$AWS_ACCESS_KEY_ID"`)
		expect(t, r, 0, "out:"+c.AccessKeyID)
	}
	if n := w.mfaRuns(t); n != 1 {
		t.Errorf("mfa_process ran %d times, want 1", n)
	}
	servedByAgent(t, e, "export", "--format=json", "role-b")
	// The passphrase is in no argv and no environment of the agent.
	st := agentStatus(t, e)
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%s/%s", st["pid"], f))
		must(t, err)
		if strings.Contains(string(b), "e2e-file-passphrase") {
			t.Errorf("the passphrase is in the agent's %s", f)
		}
	}
	// Stopped: the socket is gone and runs need the passphrase again.
	expect(t, e.Run(t, "agent", "stop"), 0, "err:stopped")
	if _, err := os.Lstat(e.Vars["ROLEVAULT_AGENT_SOCK"]); !os.IsNotExist(err) {
		t.Errorf("socket left after stop: %v", err)
	}
	expect(t, e.Run(t, "export", "--format=json", "role-b"), 1, "err:needs its passphrase, and there is no terminal to ask on")
}

// Every run's stdout, stderr and exit code are the same through the agent
// as without it: cold and warm, for export (json, env), exec and list, and
// for errors.
func TestAgentSameResults(t *testing.T) {
	w := newWorld(t)
	e := w.E
	agentSock(t, e)
	startAgent(t, e)
	r := e.Run(t, "export", "--format=json", "role-b") // cold, through the agent
	expect(t, r, 0)
	if n := w.mfaRuns(t); n != 1 {
		t.Errorf("mfa_process ran %d times, want 1", n)
	}
	cases := [][]string{
		{"export", "--format=json", "role-b"},
		{"export", "--format=env", "role-b"},
		{"export", "--format=json", "role-a"},
		{"exec", "role-b", "--", "sh", "-c", "env | grep ^AWS_ | sort"},
		{"exec", "--ecs-server", "role-b", "--", "sh", "-c", `test -n "$AWS_CONTAINER_CREDENTIALS_FULL_URI" && echo served`},
		{"list"},
		{"list", "--json"},
		{"export", "nosuch"},
		{"exec", "role-b", "--", "false"},
	}
	for _, args := range cases {
		via := e.Run(t, args...)
		e.Set("ROLEVAULT_AGENT", "off")
		direct := e.Run(t, args...)
		delete(e.Vars, "ROLEVAULT_AGENT")
		// list's time left may tick over a second between the two runs.
		if via.Code != direct.Code || clockless(via.Stdout) != clockless(direct.Stdout) || clockless(via.Stderr) != clockless(direct.Stderr) {
			t.Errorf("%q differs\nthrough the agent: %s\ndirect: %s", args, via, direct)
		}
	}
	servedByAgent(t, e, "list")
	e.Set("ROLEVAULT_AGENT", "off")
	expect(t, e.Run(t, "--debug", "list"), 0, "err:agent: not used (ROLEVAULT_AGENT=off)")
	delete(e.Vars, "ROLEVAULT_AGENT")
	// Another backend than the agent's: the direct path, and --debug says why.
	e.Set("AWS_VAULT_FILE_DIR", filepath.Join(e.Home, "other-keys"))
	expect(t, e.Run(t, "--debug", "list"), 0, "err:agent: not used: it holds file keyring")
}

// The agent refuses a connection from another uid, and a client refuses a
// socket directory that is not its own and private.
func TestAgentOtherUIDRefused(t *testing.T) {
	skipIfE2EOff(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root, to add a second local user (useradd) and act as it (runuser)")
	}
	requireTool(t, "useradd", "passwd")
	requireTool(t, "runuser", "util-linux")
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		missingTool(t, "python3", "python3", "")
	}
	user := fmt.Sprintf("rvag%d", os.Getpid())
	if out, err := exec.Command("useradd", "-M", "-s", "/usr/sbin/nologin", user).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", user).Run() })

	w := newWorld(t)
	e := w.E
	sock := agentSock(t, e)
	startAgent(t, e)
	expect(t, e.Run(t, "export", "--format=json", "role-b"), 0)

	// A raw client: hello, then a request for the stored key.
	probe := `import socket, struct, sys, json
def frame(s, o):
    b = json.dumps(o).encode(); s.sendall(struct.pack(">I", len(b)) + b)
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.strerror); sys.exit(0)
try:
    frame(s, {"op": "hello", "protocol": "rolevault-agent", "version": 1})
    frame(s, {"op": "get", "key": "login"})
except OSError:
    pass
data = b""
while True:
    try:
        c = s.recv(65536)
    except OSError:
        break
    if not c: break
    data += c
print("answer:", data[4:].decode(errors="replace"))
`
	asUser := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("runuser", append([]string{"-u", user, "--"}, args...)...)
		cmd.Env = e.Environ()
		cmd.Dir = "/"
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	// As started: the directory is 0700, so the other user cannot even reach it.
	if out := asUser(py, "-c", probe, sock); !strings.Contains(out, "connect: Permission denied") {
		t.Errorf("the other user reached the socket in its 0700 directory: %s", out)
	}
	// Opened up by mistake: the agent itself refuses by the peer's uid.
	must(t, os.Chmod(filepath.Dir(sock), 0o711))
	must(t, os.Chmod(sock, 0o666))
	out := asUser(py, "-c", probe, sock)
	if !strings.Contains(out, "refused: the rolevault agent serves only uid 0") || strings.Contains(out, w.Secret) || strings.Contains(out, "Data") {
		t.Errorf("the agent answered another uid: %s", out)
	}
	// And a client of either user refuses the directory that is now open.
	r := e.Run(t, "agent", "status")
	expect(t, r, 1, "err:is open to others (mode 0711)", "err:chmod 700")
	r = e.Run(t, "--debug", "export", "--format=json", "role-b")
	expect(t, r, 0, "err:agent: not used: the agent's socket directory")
}

// SIGKILL of the agent while it serves a request: the run carries on
// through the direct path and prints what it would have printed without
// the agent. The pass backend's program is held at the read (a wrapper
// that waits for a file to go), so the kill lands mid-request.
func TestAgentKilledMidRequest(t *testing.T) {
	requireTool(t, "pass", "pass")
	requireTool(t, "gpg", "gnupg")
	w := newWorld(t)
	e := w.E
	passInit(t, e)
	hold, entered := filepath.Join(e.Home, "hold"), filepath.Join(e.Home, "entered")
	wrapper := filepath.Join(e.Home, "pass-held.sh")
	must(t, os.WriteFile(wrapper, []byte(fmt.Sprintf(`#!/bin/sh
if [ "$1" = show ] && [ -e %[1]s ]; then : >%[2]s; while [ -e %[1]s ]; do sleep 0.05; done; fi
exec pass "$@"
`, shQuote(hold), shQuote(entered))), 0o700))
	e.Set("AWS_VAULT_BACKEND", "pass", "AWS_VAULT_PASS_CMD", wrapper)
	e.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
	expect(t, e.Run(t, "add", "login", "--env", "--no-add-config"), 0)
	delete(e.Vars, "AWS_ACCESS_KEY_ID")
	delete(e.Vars, "AWS_SECRET_ACCESS_KEY")
	agentSock(t, e)
	pid := startAgent(t, e)

	must(t, os.WriteFile(hold, nil, 0o600))
	cmd := exec.Command(binary, "export", "--format=json", "role-b")
	cmd.Env, cmd.Dir = e.Environ(), e.Home
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	must(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(entered); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the agent never read the key through pass")
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(t, syscall.Kill(pid, syscall.SIGKILL))
	must(t, os.Remove(hold))
	err := cmd.Wait()
	if err != nil || errb.String() != "" {
		t.Fatalf("export after the agent was killed: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	c := parseProcessCreds(t, out.String())
	arn, err := w.callerIdentity(t.Context(), c)
	must(t, err)
	w.checkRoleB(t, c.AccessKeyID, arn)
	// And with the agent gone, runs are direct, as before it started.
	direct := e.Run(t, "--debug", "export", "--format=json", "role-b")
	expect(t, direct, 0, "err:agent: not used: no agent is running")
}

// lifetime and idle: when either runs out the agent forgets its secrets and
// keeps running; the next run unlocks it again.
func TestAgentLifetimeAndIdle(t *testing.T) {
	for _, tc := range []struct{ name, flag string }{{"idle", "--idle=2s"}, {"lifetime", "--lifetime=2s"}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			e := w.E
			agentSock(t, e)
			startAgent(t, e, tc.flag)
			expect(t, e.Run(t, "export", "--format=json", "role-b"), 0)
			st := waitStatus(t, e, "running, locked")
			if st["items held"] != "0" {
				t.Errorf("a locked agent holds items: %v", st)
			}
			// Unlocked again by the next run (it has the passphrase variable).
			expect(t, e.Run(t, "export", "--format=json", "role-b"), 0)
			servedByAgent(t, e, "export", "--format=json", "role-b")
			if w.mfaRuns(t) != 1 {
				t.Errorf("mfa_process ran %d times, want 1", w.mfaRuns(t))
			}
		})
	}
}

// agent lock: every secret forgotten, the agent keeps running; a run
// without the passphrase fails exactly as a direct one; a run with it
// unlocks the agent again.
func TestAgentLock(t *testing.T) {
	w := newWorld(t)
	e := w.E
	agentSock(t, e)
	startAgent(t, e, "--lifetime=1h", "--idle=1h")
	expect(t, e.Run(t, "export", "--format=json", "role-b"), 0)
	if st := agentStatus(t, e); st["agent"] != "running, unlocked" || st["items held"] == "0" || st["backend"] != "file ("+e.Vars["AWS_VAULT_FILE_DIR"]+")" {
		t.Fatalf("status before lock: %v", st)
	}
	expect(t, e.Run(t, "agent", "lock"), 0, "err:locked")
	if st := agentStatus(t, e); !strings.HasPrefix(st["agent"], "running, locked") || st["items held"] != "0" {
		t.Fatalf("status after lock: %v", st)
	}
	pw := e.Vars["AWS_VAULT_FILE_PASSPHRASE"]
	delete(e.Vars, "AWS_VAULT_FILE_PASSPHRASE")
	via := e.Run(t, "export", "--format=json", "role-b")
	e.Set("ROLEVAULT_AGENT", "off")
	direct := e.Run(t, "export", "--format=json", "role-b")
	delete(e.Vars, "ROLEVAULT_AGENT")
	expect(t, via, 1, "err:needs its passphrase, and there is no terminal to ask on")
	if via.Stderr != direct.Stderr || via.Code != direct.Code {
		t.Errorf("a locked agent fails otherwise than the direct path\nagent: %s\ndirect: %s", via, direct)
	}
	e.Set("AWS_VAULT_FILE_PASSPHRASE", "not-the-passphrase")
	via = e.Run(t, "export", "--format=json", "role-b")
	e.Set("ROLEVAULT_AGENT", "off")
	direct = e.Run(t, "export", "--format=json", "role-b")
	delete(e.Vars, "ROLEVAULT_AGENT")
	expect(t, via, 1, "err:wrong passphrase for the file keyring")
	if via.Stderr != direct.Stderr {
		t.Errorf("a wrong passphrase fails otherwise through the agent\nagent: %s\ndirect: %s", via, direct)
	}
	if st := agentStatus(t, e); !strings.HasPrefix(st["agent"], "running, locked") {
		t.Errorf("the agent kept a wrong passphrase: %v", st)
	}
	e.Set("AWS_VAULT_FILE_PASSPHRASE", pw)
	expect(t, e.Run(t, "export", "--format=json", "role-b"), 0)
	if st := agentStatus(t, e); st["agent"] != "running, unlocked" {
		t.Errorf("status after a run unlocked it: %v", st)
	}
}

// 64 callers at once through the agent on a cold MFA session: one MFA
// prompt, one GetSessionToken, no failure.
func TestAgent64ConcurrentCallers(t *testing.T) {
	w := newWorld(t)
	e := w.E
	agentSock(t, e)
	startAgent(t, e)
	const n = 64
	var wg sync.WaitGroup
	results := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(binary, "export", "--format=json", "role-b")
			cmd.Env, cmd.Dir = e.Environ(), e.Home
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, errb.String())
			}
			results[i] = out.String()
		}()
	}
	wg.Wait()
	var akid string
	for i := range n {
		if errs[i] != nil {
			t.Errorf("caller %d: %v", i, errs[i])
			continue
		}
		var c processCreds
		must(t, json.Unmarshal([]byte(results[i]), &c))
		if akid == "" {
			akid = c.AccessKeyID
		} else if c.AccessKeyID != akid {
			t.Errorf("caller %d got another session (%s, not %s)", i, c.AccessKeyID, akid)
		}
	}
	if m := w.mfaRuns(t); m != 1 {
		t.Errorf("mfa_process ran %d times for %d callers, want 1", m, n)
	}
	gst := 0
	for _, h := range w.STS.History() {
		if h.Action == "GetSessionToken" {
			gst++
		}
	}
	if gst != 1 {
		t.Errorf("%d GetSessionToken calls, want 1", gst)
	}
}

// With no variable, the agent and its clients meet at the per-user default
// path ($XDG_RUNTIME_DIR/rolevault/agent.sock), as under a systemd unit.
func TestAgentDefaultSocket(t *testing.T) {
	w := newWorld(t)
	e := w.E
	run, err := os.MkdirTemp("", "rvxdg")
	must(t, err)
	must(t, os.Chmod(run, 0o700))
	t.Cleanup(func() { e.Exec(t, "rolevault", "agent", "stop"); os.RemoveAll(run) })
	e.Set("XDG_RUNTIME_DIR", run)
	r := e.Run(t, "agent", "start", "--csh")
	want := filepath.Join(run, "rolevault", "agent.sock")
	expect(t, r, 0, "out:setenv ROLEVAULT_AGENT_SOCK "+want+";")
	agentPid(t, r.Stdout)
	fi, err := os.Stat(filepath.Dir(want))
	must(t, err)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %04o", fi.Mode().Perm())
	}
	if fi, err := os.Lstat(want); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v %v", fi, err)
	}
	expect(t, e.Run(t, "--debug", "list"), 0, "err:served by the agent at "+want)
	expect(t, e.Run(t, "agent", "start"), 1, "err:a rolevault agent is already running at "+want)
}

// With no terminal (a systemd unit, launchd) the agent starts locked, and
// the first run that needs a secret hands it the passphrase.
func TestAgentStartsLockedWithoutTerminal(t *testing.T) {
	w := newWorld(t)
	e := w.E
	agentSock(t, e)
	pw := e.Vars["AWS_VAULT_FILE_PASSPHRASE"]
	delete(e.Vars, "AWS_VAULT_FILE_PASSPHRASE")
	r := e.Run(t, "agent", "start")
	expect(t, r, 0, "err:starting locked")
	agentPid(t, r.Stdout)
	if st := agentStatus(t, e); !strings.HasPrefix(st["agent"], "running, locked") {
		t.Fatalf("status: %v", st)
	}
	e.Set("AWS_VAULT_FILE_PASSPHRASE", pw)
	expect(t, e.Run(t, "export", "--format=json", "role-b"), 0)
	delete(e.Vars, "AWS_VAULT_FILE_PASSPHRASE")
	if st := agentStatus(t, e); st["agent"] != "running, unlocked" {
		t.Fatalf("status after a run unlocked it: %v", st)
	}
	expect(t, e.Run(t, "exec", "role-b", "--", "true"), 0)
}

// Callers with and without the agent at once on a cold MFA session share
// the one file lock: one MFA prompt between them.
func TestAgentAndDirectCallersShareTheLock(t *testing.T) {
	w := newWorld(t)
	e := w.E
	agentSock(t, e)
	startAgent(t, e)
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(binary, "export", "--format=json", "role-b")
			cmd.Env, cmd.Dir = e.Environ(), e.Home
			if i%2 == 1 {
				cmd.Env = append(cmd.Env, "ROLEVAULT_AGENT=off")
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if m := w.mfaRuns(t); m != 1 {
		t.Errorf("mfa_process ran %d times for %d callers with and without the agent, want 1", m, n)
	}
}

// The agent writes nothing to disk but its socket, and with --debug a log
// (0600) that names operations and items, never a key, token or passphrase.
func TestAgentLogHoldsNoSecret(t *testing.T) {
	w := newWorld(t)
	e := w.E
	sock := agentSock(t, e)
	startAgent(t, e)
	expect(t, e.Run(t, "export", "--format=json", "role-b"), 0)
	expect(t, e.Run(t, "agent", "stop"), 0)
	entries, err := os.ReadDir(filepath.Dir(sock))
	must(t, err)
	if len(entries) != 0 {
		t.Errorf("the agent left %d files in its directory: %v", len(entries), entries)
	}

	e.Vars["ROLEVAULT_AGENT_SOCK"] = sock
	r := e.Run(t, "--debug", "agent", "start")
	expect(t, r, 0)
	agentPid(t, r.Stdout)
	expect(t, e.Run(t, "exec", "role-b", "--", "true"), 0)
	expect(t, e.Run(t, "export", "--format=json", "role-a"), 0)
	expect(t, e.Run(t, "agent", "lock"), 0)
	log := filepath.Join(filepath.Dir(sock), "agent.log")
	b, err := os.ReadFile(log)
	must(t, err)
	fi, err := os.Stat(log)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("agent.log mode %04o", fi.Mode().Perm())
	}
	if !strings.Contains(string(b), "request get rolevault.AssumeRole.") || !strings.Contains(string(b), "forgot every secret: agent lock") {
		t.Errorf("the log does not show the requests:\n%s", b)
	}
	for _, s := range append(w.secrets(), e.Vars["AWS_VAULT_FILE_PASSPHRASE"], w.KeyID) {
		if s != "" && strings.Contains(string(b), s) {
			t.Errorf("agent.log holds a secret (%.6s…):\n%s", s, b)
		}
	}
}

// rotate through the agent: the new key is written through to the keyring,
// so a run without the agent signs with it, and the agent serves it too
// (not its copy of the old one).
func TestAgentRotateWritesThrough(t *testing.T) {
	w := newWorld(t)
	e := w.E
	agentSock(t, e)
	startAgent(t, e)
	keyOf := func(extra ...string) string {
		t.Helper()
		r := e.Run(t, append(extra, "exec", "--no-session", "login", "--", "sh", "-c", `echo "$AWS_ACCESS_KEY_ID"`)...)
		expect(t, r, 0)
		return strings.TrimSpace(r.Stdout)
	}
	if k := keyOf(); k != w.KeyID {
		t.Fatalf("before rotate the agent serves %s, want %s", k, w.KeyID)
	}
	servedByAgent(t, e, "rotate", "-n", "login")
	newKey := keyOf()
	if newKey == w.KeyID {
		t.Fatalf("the agent still serves the old key %s after rotate", newKey)
	}
	e.Set("ROLEVAULT_AGENT", "off")
	if k := keyOf(); k != newKey {
		t.Errorf("without the agent the keyring holds %s, the agent serves %s", k, newKey)
	}
	delete(e.Vars, "ROLEVAULT_AGENT")
	// And the other way round: a rotation without the agent is seen by it.
	e.Set("ROLEVAULT_AGENT", "off")
	expect(t, e.Run(t, "rotate", "-n", "login"), 0)
	delete(e.Vars, "ROLEVAULT_AGENT")
	if k := keyOf(); k == newKey {
		t.Errorf("the agent serves the key %s that a rotation without it replaced", k)
	}
}

// The agent with the secret-service backend (gnome-keyring on a private
// D-Bus): it keeps the unlocked collection open and serves runs from it.
func TestAgentSecretService(t *testing.T) {
	requireTool(t, "dbus-run-session", "dbus")
	requireTool(t, "gnome-keyring-daemon", "gnome-keyring")
	w := newWorld(t)
	e := w.E
	delete(e.Vars, "AWS_VAULT_FILE_PASSPHRASE")
	delete(e.Vars, "AWS_VAULT_FILE_DIR")
	e.Set("AWS_VAULT_BACKEND", "secret-service")
	agentSock(t, e)
	add := Cmd("rolevault", "add", "--env", "login", "--no-add-config")
	add.Env = map[string]string{"AWS_ACCESS_KEY_ID": w.KeyID, "AWS_SECRET_ACCESS_KEY": w.Secret}
	key := []string{"exec", "--no-session", "login", "--", "sh", "-c", `echo "$AWS_ACCESS_KEY_ID"`}
	steps := append(secretServiceSetup("awsvault"), add,
		Cmd("rolevault", "agent", "start"),
		Cmd(append([]string{"rolevault", "--debug"}, key...)...),
		Cmd(append([]string{"rolevault"}, key...)...),
		Cmd("rolevault", "agent", "status"),
		Cmd("rolevault", "agent", "stop"))
	res := e.Script(t, []string{"dbus-run-session", "--"}, steps...)
	n := len(secretServiceSetup("awsvault"))
	expect(t, res[n], 0)
	expect(t, res[n+1], 0, "out:Agent pid")
	expect(t, res[n+2], 0, "out:"+w.KeyID, "err:keyring backend: secret-service, served by the agent at")
	expect(t, res[n+3], 0, "out:"+w.KeyID)
	expect(t, res[n+4], 0, "out:running, unlocked", "out:backend:       secret-service (collection awsvault)")
	expect(t, res[n+5], 0, "err:stopped")
}

// timeLeft matches the time left list prints ("7h59m58s", "seconds_left": 3598).
var timeLeft = regexp.MustCompile(`\b(\d+h)?(\d+m)?\d+s\b|"seconds_left": \d+`)

// clockless blanks the times left in a listing, which differ between two
// runs a second apart; everything else must be the same.
func clockless(s string) string { return timeLeft.ReplaceAllString(s, "T") }
