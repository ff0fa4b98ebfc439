package e2e

// The shared harness: TestMain builds the rolevault binary once; Env gives each
// test an isolated home, AWS config and environment to run it in; requireTool
// and skipIfE2EOff implement the ROLEVAULT_E2E gate:
//
//	unset    run when the needed tools are installed, skip (naming the Debian
//	         packages to install) when they are not
//	require  a missing tool fails the test (CI)
//	skip     skip every end-to-end test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/keyringtest"
	"github.com/rolevault/rolevault/internal/testskip"
)

// helperEnv, when set, makes the test binary run a helper instead of tests, so
// a test can act inside a session (dbus-run-session, keyctl session) that its
// own process is outside of. Value "keyring": keyringtest.Main.
const helperEnv = "ROLEVAULT_E2E_HELPER"

var (
	// binary is the rolevault built by TestMain ("" when the suite is off).
	binary string
	// buildErr is why the build failed; tests report it instead of running.
	buildErr error
)

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		if h == "keyring" {
			os.Exit(keyringtest.Main(os.Args[1:]))
		}
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, h)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "rolevault-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if e2eMode() != "skip" {
		binary = filepath.Join(dir, "rolevault")
		if runtime.GOOS == "windows" {
			binary += ".exe"
		}
		cmd := exec.Command("go", "build", "-o", binary, "github.com/rolevault/rolevault")
		// Built as `make build` builds it: static on Linux (CGO_ENABLED=0,
		// see the Makefile), unless CGO_ENABLED is set.
		cmd.Env = buildEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building rolevault: %v\n%s", err, out)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildEnv is the environment rolevault is built with: the Makefile's
// CGO_ENABLED=0 on Linux when the caller has not set CGO_ENABLED.
func buildEnv() []string {
	env := os.Environ()
	if _, set := os.LookupEnv("CGO_ENABLED"); !set && runtime.GOOS == "linux" {
		env = append(env, "CGO_ENABLED=0")
	}
	return env
}

func e2eMode() string { return os.Getenv("ROLEVAULT_E2E") }

// skipIfE2EOff skips when ROLEVAULT_E2E=skip and fails when the binary could
// not be built. Every end-to-end test calls it (requireTool does).
func skipIfE2EOff(t *testing.T) {
	t.Helper()
	if e2eMode() == "skip" {
		t.Skip("ROLEVAULT_E2E=skip")
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// requireTool makes sure the program tool (from Debian package pkg) is on
// PATH: skip with an install hint when it is not, or fail under
// ROLEVAULT_E2E=require.
func requireTool(t *testing.T, tool, pkg string) {
	t.Helper()
	skipIfE2EOff(t)
	if _, err := exec.LookPath(tool); err != nil {
		missingTool(t, tool, pkg, fmt.Sprintf("%s is not installed (Debian/Ubuntu: apt-get install %s)", tool, pkg))
	}
}

// missingTool skips because program tool (Debian package pkg) is not usable,
// saying msg, and notes the skip for make test's summary; under
// ROLEVAULT_E2E=require it fails instead.
func missingTool(t *testing.T, tool, pkg, msg string) {
	t.Helper()
	testskip.Missing(t, tool, pkg, msg)
}

// Env is an isolated world for the binary: its own HOME, AWS config and
// credentials files, cache directory, and an environment built from scratch,
// so nothing from the developer's or runner's AWS setup, keyrings or D-Bus
// session leaks in, and no AWS client can reach the network.
type Env struct {
	Home        string
	Config      string // AWS_CONFIG_FILE
	Credentials string // AWS_SHARED_CREDENTIALS_FILE
	Vars        map[string]string
}

// NewEnv makes an Env in a fresh temporary directory.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	home := t.TempDir()
	e := &Env{
		Home:        home,
		Config:      filepath.Join(home, ".aws", "config"),
		Credentials: filepath.Join(home, ".aws", "credentials"),
	}
	e.Vars = map[string]string{
		"PATH":                        os.Getenv("PATH"),
		"HOME":                        home,
		"USER":                        os.Getenv("USER"),
		"LANG":                        "C.UTF-8",
		"TMPDIR":                      os.TempDir(),
		"AWS_CONFIG_FILE":             e.Config,
		"AWS_SHARED_CREDENTIALS_FILE": e.Credentials,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"HTTPS_PROXY":                 "http://127.0.0.1:9",
		"NO_PROXY":                    "127.0.0.1,localhost",
		"ROLEVAULT_CACHE_DIR":         filepath.Join(home, ".cache", "rolevault"),
		"XDG_CONFIG_HOME":             filepath.Join(home, ".config"),
		"XDG_DATA_HOME":               filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME":              filepath.Join(home, ".cache"),
	}
	if runtime.GOOS == "windows" {
		for _, k := range []string{"SystemRoot", "USERPROFILE", "APPDATA", "LOCALAPPDATA"} {
			e.Vars[k] = os.Getenv(k)
		}
		e.Vars["USERPROFILE"] = home
	}
	if err := os.MkdirAll(filepath.Dir(e.Config), 0o700); err != nil {
		t.Fatal(err)
	}
	return e
}

// Set sets environment variables for every later run, as "K", "V" pairs.
func (e *Env) Set(kv ...string) *Env {
	for i := 0; i+1 < len(kv); i += 2 {
		e.Vars[kv[i]] = kv[i+1]
	}
	return e
}

// WriteConfig replaces the AWS config file.
func (e *Env) WriteConfig(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(e.Config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Environ is the environment of every process the Env runs.
func (e *Env) Environ() []string {
	var out []string
	for k, v := range e.Vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Result is one finished command.
type Result struct {
	Args           []string
	Code           int
	Stdout, Stderr string
}

func (r Result) String() string {
	return fmt.Sprintf("%q: exit %d\nstdout: %s\nstderr: %s", r.Args, r.Code, r.Stdout, r.Stderr)
}

// Run runs rolevault with args, with stdin empty, and waits at most a minute.
func (e *Env) Run(t *testing.T, args ...string) Result {
	t.Helper()
	return e.Exec(t, append([]string{binary}, args...)...)
}

// Exec runs any program in the Env (argv[0] "rolevault" means the binary).
func (e *Env) Exec(t *testing.T, argv ...string) Result {
	t.Helper()
	skipIfE2EOff(t)
	if argv[0] == "rolevault" {
		argv[0] = binary
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = e.Environ()
	cmd.Dir = e.Home
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Args: argv, Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("running %q: %v", argv, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%q did not finish within a minute:\n%s", argv, r)
	}
	return r
}

// Step is one command of a Script. Args[0] "rolevault" is the built binary;
// "helper" is this test binary acting as a keyringtest helper.
type Step struct {
	Args  []string
	Env   map[string]string // extra variables for this step only
	Stdin string
}

// Cmd builds a Step.
func Cmd(args ...string) Step { return Step{Args: args} }

// Script runs steps one after another in a single shell, inside wrap (e.g.
// "dbus-run-session", "--" or "keyctl", "session", "-"), and returns each
// step's result. One shell matters: a D-Bus session and its keyring daemon,
// or an anonymous session keyring, live only as long as the wrapper, so a
// store, a read from outside and a remove must all happen inside one.
func (e *Env) Script(t *testing.T, wrap []string, steps ...Step) []Result {
	t.Helper()
	skipIfE2EOff(t)
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var sh strings.Builder
	sh.WriteString("cd " + shQuote(e.Home) + "\n")
	for i, s := range steps {
		args := append([]string(nil), s.Args...)
		var prefix []string
		for k, v := range s.Env {
			prefix = append(prefix, k+"="+shQuote(v))
		}
		switch args[0] {
		case "rolevault":
			args[0] = binary
		case "helper":
			args[0] = self
			prefix = append(prefix, helperEnv+"=keyring")
		}
		in := filepath.Join(dir, fmt.Sprintf("%d.in", i))
		if err := os.WriteFile(in, []byte(s.Stdin), 0o600); err != nil {
			t.Fatal(err)
		}
		q := make([]string, len(args))
		for j, a := range args {
			q[j] = shQuote(a)
		}
		sort.Strings(prefix)
		line := strings.Join(append(prefix, q...), " ")
		if len(prefix) > 0 {
			line = "env " + line
		}
		fmt.Fprintf(&sh, "%s <%s >%s 2>%s; echo $? >%s\n", line, shQuote(in),
			shQuote(filepath.Join(dir, fmt.Sprintf("%d.out", i))), shQuote(filepath.Join(dir, fmt.Sprintf("%d.err", i))),
			shQuote(filepath.Join(dir, fmt.Sprintf("%d.rc", i))))
	}
	argv := append(append([]string(nil), wrap...), "sh", "-c", sh.String())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = e.Environ()
	cmd.Dir = e.Home
	wrapOut, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("script in %q did not finish within two minutes; output: %s", wrap, wrapOut)
	}
	if err != nil {
		t.Fatalf("script in %q failed: %v\n%s", wrap, err, wrapOut)
	}
	results := make([]Result, len(steps))
	for i, s := range steps {
		read := func(ext string) string {
			b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.%s", i, ext)))
			return string(b)
		}
		rc := strings.TrimSpace(read("rc"))
		r := Result{Args: s.Args, Stdout: read("out"), Stderr: read("err"), Code: -1}
		if rc != "" {
			fmt.Sscan(rc, &r.Code)
		}
		results[i] = r
	}
	return results
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// expect checks a Result's exit code and that its stdout and stderr contain
// the given substrings ("out:" or "err:" prefixed).
func expect(t *testing.T, r Result, code int, contains ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("want exit %d, got %s", code, r)
		return
	}
	for _, c := range contains {
		stream, want := r.Stdout, c
		if s, ok := strings.CutPrefix(c, "err:"); ok {
			stream, want = r.Stderr, s
		} else if s, ok := strings.CutPrefix(c, "out:"); ok {
			want = s
		}
		if !strings.Contains(stream, want) {
			t.Errorf("%q not found in %s", c, r)
		}
	}
}

// Term is a program running on a real terminal (a tmux pane), for tests of
// prompts: what the person sees, what they type, what is never echoed.
type Term struct {
	t      *testing.T
	e      *Env
	socket string
}

// StartTerminal runs argv (argv[0] "rolevault" is the binary) in a detached
// 120x30 tmux pane of a private tmux server. When the program exits the pane
// shows "EXIT=<code>" and stays open, so the screen can still be read.
func StartTerminal(t *testing.T, e *Env, argv ...string) *Term {
	t.Helper()
	requireTool(t, "tmux", "tmux")
	if argv[0] == "rolevault" {
		argv[0] = binary
	}
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shQuote(a)
	}
	dir, err := os.MkdirTemp("", "rvtmux") // short: the socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	tm := &Term{t: t, e: e, socket: filepath.Join(dir, "s")}
	t.Cleanup(func() {
		e.Exec(t, "tmux", "-S", tm.socket, "kill-server")
		os.RemoveAll(dir)
	})
	r := e.Exec(t, "tmux", "-S", tm.socket, "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "30",
		strings.Join(q, " ")+`; echo "EXIT=$?"; sleep 60`)
	expect(t, r, 0)
	return tm
}

// Screen is the pane's visible text.
func (tm *Term) Screen() string {
	tm.t.Helper()
	return tm.e.Exec(tm.t, "tmux", "-S", tm.socket, "capture-pane", "-p").Stdout
}

// WaitFor waits up to 10 s for text to appear on the screen and returns it.
func (tm *Term) WaitFor(text string) string {
	tm.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := tm.Screen()
		if strings.Contains(s, text) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%q did not appear on the terminal; screen:\n%s", text, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Type types line and presses Enter.
func (tm *Term) Type(line string) {
	tm.t.Helper()
	expect(tm.t, tm.e.Exec(tm.t, "tmux", "-S", tm.socket, "send-keys", "-l", line), 0)
	expect(tm.t, tm.e.Exec(tm.t, "tmux", "-S", tm.socket, "send-keys", "Enter"), 0)
}
