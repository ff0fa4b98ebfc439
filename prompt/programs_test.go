//go:build !windows

package prompt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// progs is a directory of fake programs (shell scripts) and the state they
// share with the test: each run numbers itself and records its arguments,
// NUL-terminated, in $STATE/args.N.
type progs struct {
	t     *testing.T
	bin   string
	state string
	env   []string
}

func newProgs(t *testing.T) *progs {
	p := &progs{t: t, bin: t.TempDir(), state: t.TempDir()}
	p.env = []string{"PATH=" + p.bin + ":/usr/bin:/bin", "STATE=" + p.state}
	return p
}

// add writes program name; body runs after the bookkeeping with $n set to
// the run number.
func (p *progs) add(name, body string) {
	p.t.Helper()
	script := "#!/bin/sh\n" +
		`n=$(cat "$STATE/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$STATE/n"` + "\n" +
		`printf '%s\0' "$@" > "$STATE/args.$n"` + "\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(p.bin, name), []byte(script), 0o755); err != nil {
		p.t.Fatal(err)
	}
}

// args returns the arguments of run n.
func (p *progs) args(n int) []string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.state, "args."+strconv.Itoa(n)))
	if err != nil {
		p.t.Fatalf("run %d did not happen: %v", n, err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// options gives sources this PATH, no terminal, and a buffer for stderr.
func (p *progs) options(extraEnv ...string) (Options, *bytes.Buffer) {
	var stderr bytes.Buffer
	return Options{Env: append(append([]string(nil), p.env...), extraEnv...), open: noTTY, Stderr: &stderr}, &stderr
}

func (p *progs) driver(name string, o Options) Source {
	p.t.Helper()
	src, err := Driver(name, o)
	if err != nil {
		p.t.Fatalf("Driver(%s): %v", name, err)
	}
	return src
}

func sameArgs(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("arguments = %q\nwant        %q", got, want)
	}
}

func TestYkman(t *testing.T) {
	p := newProgs(t)
	p.add("ykman", `echo "Touch your YubiKey..." >&2; echo 123456`)
	o, stderr := p.options()
	src := p.driver("ykman", o)
	code, err := src.Func(context.Background(), serial)
	if err != nil || code != "123456" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	sameArgs(t, p.args(1), "oath", "accounts", "code", "--single", serial)
	if !strings.Contains(stderr.String(), "Touch your YubiKey") {
		t.Errorf("touch prompt not shown on stderr without a terminal: %q", stderr)
	}
}

func TestYkmanSettings(t *testing.T) {
	p := newProgs(t)
	p.add("ykman", `echo "Amazon Web Services:alice@example.com  654321"`)
	o, _ := p.options("YKMAN_OATH_CREDENTIAL_NAME=Amazon Web Services:alice@example.com",
		"YKMAN_OATH_DEVICE_SERIAL=12345678", "AWS_VAULT_YKMAN_VERSION=3")
	code, err := p.driver("ykman", o).Func(context.Background(), serial)
	if err != nil || code != "654321" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	// The account name with its spaces arrives as one argument: no shell.
	sameArgs(t, p.args(1), "--device", "12345678", "oath", "code", "--single", "Amazon Web Services:alice@example.com")
}

func TestYkmanFailure(t *testing.T) {
	p := newProgs(t)
	p.add("ykman", `echo "WARNING: PC/SC not available." >&2; echo "ERROR: No YubiKey detected!" >&2; exit 2`)
	o, _ := p.options()
	_, err := p.driver("ykman", o).Func(context.Background(), serial)
	if err == nil || !strings.Contains(err.Error(), "exit status 2") || !strings.Contains(err.Error(), "No YubiKey detected") {
		t.Fatalf("err = %v; want the exit status and ykman's message", err)
	}
	p.add("ykman", `echo "123"`)
	if _, err := p.driver("ykman", o).Func(context.Background(), serial); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("short code: err = %v, want ErrInvalidCode", err)
	}
	p.add("ykman", `exit 0`)
	if _, err := p.driver("ykman", o).Func(context.Background(), serial); !errors.Is(err, ErrInvalidCode) || !strings.Contains(err.Error(), "printed nothing") {
		t.Errorf("no output: err = %v", err)
	}
}

// With a terminal, ykman and mfa_process read from it and talk on it, even
// though rolevault's own stdin and stderr may be pipes.
func TestProgramsUseTheTerminal(t *testing.T) {
	p := newProgs(t)
	p.add("ykman", `read pw; echo "Touch your YubiKey (password was $pw)" >&2; echo 123456`)
	ft := &fakeTerminal{t: t, inputs: lines("oathpw\n", "222222\n")}
	o, stderr := p.options()
	o.open = ft.open
	if code, err := p.driver("ykman", o).Func(context.Background(), serial); err != nil || code != "123456" {
		t.Fatalf("ykman = %q, %v", code, err)
	}
	o.Process = `read c; echo "touch now" >&2; echo "$c"`
	src, err := Choose(o)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := src.Func(context.Background(), serial); err != nil || code != "222222" {
		t.Fatalf("mfa_process = %q, %v", code, err)
	}
	out := ft.output()
	if !strings.Contains(out, "Touch your YubiKey (password was oathpw)") || !strings.Contains(out, "touch now") {
		t.Errorf("terminal shows %q", out)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr got %q although a terminal was there", stderr)
	}
}

func TestMFAProcess(t *testing.T) {
	p := newProgs(t)
	p.add("fakeotp", `printf '  %s \n' "$1"`)
	o, _ := p.options()
	// The command line goes through the shell: quoting, pipes and PATH work.
	o.Process = `fakeotp "123 456" | cat`
	src, err := Choose(o)
	if err != nil {
		t.Fatal(err)
	}
	if src.Name != "mfa_process" {
		t.Fatalf("Choose picked %q", src.Name)
	}
	if code, err := src.Func(context.Background(), serial); err != nil || code != "123456" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	sameArgs(t, p.args(1), "123 456")
}

func TestMFAProcessFailures(t *testing.T) {
	for _, tc := range []struct {
		name, command string
		want          []string
		notWant       string
		is            error
	}{
		{"exit status and stderr", `echo "[ERROR] You are not currently signed in." >&2; exit 3`,
			[]string{`mfa_process "echo`, "exit status 3", "not currently signed in"}, "", nil},
		{"not a code", `echo hunter2hunter2`, []string{"mfa_process", "6 digits"}, "hunter2", ErrInvalidCode},
		{"nothing printed", `true`, []string{"printed nothing"}, "", ErrInvalidCode},
		{"too much output", `i=0; while [ $i -lt 2000 ]; do echo 1234567890; i=$((i+1)); done`, []string{"more than"}, "", nil},
		{"killed", `kill -9 $$`, []string{"signal: killed"}, "", nil},
	} {
		src := Process(tc.command, []string{"PATH=/usr/bin:/bin"})
		_, err := src.Func(context.Background(), serial)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
		if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
			t.Errorf("%s: error %q repeats the output", tc.name, err)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v is not %v", tc.name, err, tc.is)
		}
	}
}

// A cancel must end a program that waits for ever, and must not wait for a
// grandchild that keeps its output pipe open.
func TestProgramsCancel(t *testing.T) {
	p := newProgs(t)
	p.add("ykman", `sleep 5; echo 123456`)
	p.add("zenity", `sleep 5; echo 123456`)
	o, _ := p.options()
	sources := map[string]Source{"ykman": p.driver("ykman", o), "zenity": p.driver("zenity", o)}
	o.Process = "sleep 5; echo 123456"
	sources["mfa_process"], _ = Choose(o)
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each waits out the grandchild grace period
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := src.Func(ctx, serial)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want DeadlineExceeded", err)
			}
			if errors.Is(err, ErrCanceled) {
				t.Error("a caller's cancel reported as the person canceling")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("cancel took %v", d)
			}
		})
	}
}

// A program that prints the code and exits 0 while something it started in
// the background still holds stdout has done its job.
func TestMFAProcessBackgroundChild(t *testing.T) {
	start := time.Now()
	code, err := Process("echo 123456; sleep 3 &", []string{"PATH=/usr/bin:/bin"}).Func(context.Background(), serial)
	if err != nil || code != "123456" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("waited %v for the background child", d)
	}
}

func TestZenity(t *testing.T) {
	p := newProgs(t)
	p.add("zenity", `case $n in 1) echo 12;; 2) echo " 123456 ";; *) exit 1;; esac`)
	o, _ := p.options("DISPLAY=:0")
	src := p.driver("zenity", o)
	code, err := src.Func(context.Background(), serial)
	if err != nil || code != "123456" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	sameArgs(t, p.args(1), "--entry", "--title", "aws-vault", "--text", "Enter token for "+serial+": ")
	// The second dialog says why it is back.
	sameArgs(t, p.args(2), "--entry", "--title", "aws-vault", "--text",
		"MFA code must be exactly 6 digits: 2 digits were entered. Try again (try 2 of 3).\n\nEnter token for "+serial+": ")
	// Cancel: exit 1 and no output.
	if _, err := src.Func(context.Background(), serial); !errors.Is(err, ErrCanceled) {
		t.Errorf("cancel: err = %v, want ErrCanceled", err)
	}
}

func TestZenityEscapesMarkup(t *testing.T) {
	p := newProgs(t)
	p.add("zenity", `echo 123456`)
	o, _ := p.options()
	p.driver("zenity", o).Func(context.Background(), "arn:aws:iam::1:mfa/a&b<c>")
	if got := p.args(1)[4]; got != "Enter token for arn:aws:iam::1:mfa/a&amp;b&lt;c&gt;: " {
		t.Errorf("--text = %q", got)
	}
}

func TestZenityFailure(t *testing.T) {
	p := newProgs(t)
	p.add("zenity", `echo "cannot open display: :0" >&2; exit 255`)
	o, _ := p.options()
	_, err := p.driver("zenity", o).Func(context.Background(), serial)
	if err == nil || errors.Is(err, ErrCanceled) || !strings.Contains(err.Error(), "cannot open display") {
		t.Errorf("err = %v; want zenity's message, not a cancel", err)
	}
}

func TestKdialog(t *testing.T) {
	p := newProgs(t)
	p.add("kdialog", `case $n in 1) echo 123456;; *) exit 1;; esac`)
	o, _ := p.options()
	src := p.driver("kdialog", o)
	if code, err := src.Func(context.Background(), serial); err != nil || code != "123456" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	sameArgs(t, p.args(1), "--inputbox", "Enter token for "+serial+": ", "--title", "aws-vault")
	if _, err := src.Func(context.Background(), serial); !errors.Is(err, ErrCanceled) {
		t.Errorf("cancel: err = %v, want ErrCanceled", err)
	}
}

func TestOsascript(t *testing.T) {
	p := newProgs(t)
	p.add("osascript", `case $n in
1) echo "button returned:OK, text returned:123456";;
*) echo "0:1: execution error: User canceled. (-128)" >&2; exit 1;;
esac`)
	o, _ := p.options()
	o.goos = "darwin"
	src := p.driver("osascript", o)
	odd := `arn:aws:iam::1:mfa/x" & (do shell script "touch /tmp/pwned") & "`
	if code, err := src.Func(context.Background(), odd); err != nil || code != "123456" {
		t.Fatalf("Func = %q, %v", code, err)
	}
	args := p.args(1)
	// The text is the run handler's argument; the script itself is fixed.
	if args[len(args)-1] != "Enter token for "+odd+": " {
		t.Errorf("dialog text argument = %q", args[len(args)-1])
	}
	if script := strings.Join(args[:len(args)-1], "\n"); strings.Contains(script, "pwned") || !strings.Contains(script, "on run argv") {
		t.Errorf("serial spliced into the script:\n%s", script)
	}
	if _, err := src.Func(context.Background(), serial); !errors.Is(err, ErrCanceled) {
		t.Errorf("cancel: err = %v, want ErrCanceled", err)
	}
}

func TestOsascriptAnswer(t *testing.T) {
	for in, want := range map[string]string{
		"button returned:OK, text returned:123456\n": "123456",
		"button returned:OK, text returned:12, 34":   "12, 34",
		"123456\n": "123456",
	} {
		if got := osascriptAnswer(in); got != want {
			t.Errorf("osascriptAnswer(%q) = %q, want %q", in, got, want)
		}
	}
}
