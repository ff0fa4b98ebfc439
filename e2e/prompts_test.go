package e2e

// Prompts on a real terminal (tmux): add asks for everything that can fail
// before the secret, so a mistake never costs typing the secret twice; and a
// signal or Ctrl-C at any prompt leaves the terminal as it was, with one
// line naming what was being asked for.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// promptTerm is a Term whose program's pid and final terminal settings are
// known: the pane's shell ignores Ctrl-C's SIGINT (a trap, which the program
// does not inherit) so it can report the exit status, and after the program
// it saves `stty -a`.
type promptTerm struct {
	*Term
	dir string
}

func startPromptTerm(t *testing.T, e *Env, args ...string) *promptTerm {
	t.Helper()
	requireTool(t, "tmux", "tmux")
	dir, err := os.MkdirTemp("", "rvpt") // short: the socket path is limited
	must(t, err)
	pt := &promptTerm{Term: &Term{t: t, e: e, socket: filepath.Join(dir, "s")}, dir: dir}
	t.Cleanup(func() {
		e.Exec(t, "tmux", "-S", pt.socket, "kill-server")
		os.RemoveAll(dir)
	})
	q := []string{shQuote(binary)}
	for _, a := range args {
		q = append(q, shQuote(a))
	}
	cmd := fmt.Sprintf(`trap : INT; sh -c 'echo $$ >%s; exec "$0" "$@"' %s; echo "EXIT=$?"; stty -a >%s; sleep 60`,
		shQuote(pt.file("pid")), strings.Join(q, " "), shQuote(pt.file("stty")))
	expect(t, e.Exec(t, "tmux", "-S", pt.socket, "-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "40", cmd), 0)
	return pt
}

func (pt *promptTerm) file(name string) string { return filepath.Join(pt.dir, name) }

// exit waits for the program to end and returns its status line.
func (pt *promptTerm) exit() string {
	pt.t.Helper()
	s := pt.WaitFor("EXIT=")
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "EXIT="); i >= 0 {
			return strings.TrimSpace(l[i:])
		}
	}
	return ""
}

func (pt *promptTerm) signal(sig syscall.Signal) {
	pt.t.Helper()
	b, err := os.ReadFile(pt.file("pid"))
	must(pt.t, err)
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		pt.t.Fatal(err)
	}
	must(pt.t, syscall.Kill(pid, sig))
}

func (pt *promptTerm) keys(k ...string) {
	pt.t.Helper()
	expect(pt.t, pt.e.Exec(pt.t, append([]string{"tmux", "-S", pt.socket, "send-keys"}, k...)...), 0)
}

// echoOn checks the terminal was left with echo and line editing on.
func (pt *promptTerm) echoOn() {
	pt.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var b []byte
	for {
		var err error
		if b, err = os.ReadFile(pt.file("stty")); err == nil && len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			pt.t.Fatalf("no stty output; screen:\n%s", pt.Screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	have := map[string]bool{}
	for _, f := range strings.FieldsFunc(string(b), func(c rune) bool { return c == ' ' || c == ';' || c == '\n' }) {
		have[f] = true
	}
	for _, want := range []string{"echo", "icanon", "isig"} {
		if !have[want] || have["-"+want] {
			pt.t.Errorf("terminal left with %s off:\n%s", want, b)
		}
	}
}

// fileKeyringEnv is an Env whose file keyring asks for its passphrase.
func fileKeyringEnv(t *testing.T) *Env {
	e := NewEnv(t)
	e.Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_DIR", filepath.Join(e.Home, "keys"))
	e.WriteConfig(t, "[profile prod]\nregion = eu-west-1\n")
	return e
}

const r2ID, r2Secret = "3f2a6c1e9b8d4f7a0c5e2b1d6a9f8e7c", "9d2c1b0a8f7e6d5c4b3a29181716151413121110fedcba98765432100a1b2c3d"

// The order: passphrase (twice, for a new keyring), then the ID, then the
// secret; the R2-shaped key is stored with one note.
func TestAddAsksPassphraseFirst(t *testing.T) {
	e := fileKeyringEnv(t)
	pt := startPromptTerm(t, e, "add", "prod")
	pt.WaitFor("Choose a passphrase for the new file keyring")
	if s := pt.Screen(); strings.Contains(s, "Access Key ID") {
		t.Fatalf("the key was asked for before the passphrase:\n%s", s)
	}
	pt.Type("correct horse")
	pt.WaitFor("Type it again:")
	pt.Type("correct horse")
	pt.WaitFor("Enter Access Key ID:")
	pt.Type(r2ID)
	pt.WaitFor("Enter Secret Access Key:")
	pt.Type(r2Secret)
	if x := pt.exit(); x != "EXIT=0" {
		t.Fatalf("%s; screen:\n%s", x, pt.Screen())
	}
	s := pt.Screen()
	if strings.Contains(s, r2Secret) || strings.Count(s, "note: this is not an AWS-shaped key") != 1 {
		t.Errorf("want the secret hidden and one note:\n%s", s)
	}
	e.Set("AWS_VAULT_FILE_PASSPHRASE", "correct horse")
	expect(t, e.Run(t, "list", "--credentials", "--check"), 0, "out:prod\t3f2a")
}

// Mistakes that used to come after the secret was typed now come before it.
func TestAddMistakesBeforeTheSecret(t *testing.T) {
	t.Run("passphrases differ", func(t *testing.T) {
		e := fileKeyringEnv(t)
		pt := startPromptTerm(t, e, "add", "prod")
		pt.WaitFor("Choose a passphrase for the new file keyring")
		pt.Type("one")
		pt.WaitFor("Type it again:")
		pt.Type("two")
		if x := pt.exit(); x != "EXIT=1" {
			t.Fatalf("%s; screen:\n%s", x, pt.Screen())
		}
		if s := pt.Screen(); !strings.Contains(s, "the two passphrases differ") || strings.Contains(s, "Access Key") {
			t.Errorf("want the mismatch reported before any key prompt:\n%s", s)
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		e := fileKeyringEnv(t)
		e.Set("AWS_ACCESS_KEY_ID", r2ID, "AWS_SECRET_ACCESS_KEY", r2Secret, "AWS_VAULT_FILE_PASSPHRASE", "right")
		expect(t, e.Run(t, "add", "--env", "prod"), 0)
		for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_VAULT_FILE_PASSPHRASE"} {
			delete(e.Vars, k)
		}
		e.WriteConfig(t, "[profile prod]\nregion = eu-west-1\n[profile dev]\n")
		pt := startPromptTerm(t, e, "add", "dev")
		pt.WaitFor("Passphrase for the file keyring")
		pt.Type("wrong")
		if x := pt.exit(); x != "EXIT=1" {
			t.Fatalf("%s; screen:\n%s", x, pt.Screen())
		}
		if s := pt.Screen(); !strings.Contains(s, "wrong passphrase for the file keyring") || strings.Contains(s, "Access Key") {
			t.Errorf("want the wrong passphrase reported before any key prompt:\n%s", s)
		}
	})
	t.Run("temporary key ID", func(t *testing.T) {
		e := fileKeyringEnv(t)
		e.Set("AWS_VAULT_FILE_PASSPHRASE", "pw")
		pt := startPromptTerm(t, e, "add", "prod")
		pt.WaitFor("Enter Access Key ID:")
		pt.Type("ASIAIOSFODNN7EXAMPLE")
		if x := pt.exit(); x != "EXIT=1" {
			t.Fatalf("%s; screen:\n%s", x, pt.Screen())
		}
		if s := pt.Screen(); !strings.Contains(s, "ASIA… keys are temporary") || strings.Contains(s, "Secret Access Key") {
			t.Errorf("want the ID refused before the secret prompt:\n%s", s)
		}
	})
	t.Run("near miss of a profile", func(t *testing.T) {
		e := fileKeyringEnv(t)
		pt := startPromptTerm(t, e, "add", "prdo")
		if x := pt.exit(); x != "EXIT=1" {
			t.Fatalf("%s; screen:\n%s", x, pt.Screen())
		}
		if s := pt.Screen(); !strings.Contains(s, `did you mean "prod"?`) || strings.Contains(s, "assphrase") || strings.Contains(s, "Access Key") {
			t.Errorf("want the name refused before any prompt:\n%s", s)
		}
	})
}

// A signal or Ctrl-C at add's prompts: the terminal gets echo back, one line
// names what was being asked for, and the status is the signal's.
func TestAddSignalsAtPrompts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		at       string // the prompt to interrupt
		stop     func(*promptTerm)
		exit     string
		line     string
		withPass bool
	}{
		{"SIGTERM at the secret", "Enter Secret Access Key:", func(pt *promptTerm) { pt.signal(syscall.SIGTERM) }, "EXIT=143",
			"rolevault: interrupted by SIGTERM while asking for the secret access key", true},
		{"SIGHUP at the secret", "Enter Secret Access Key:", func(pt *promptTerm) { pt.signal(syscall.SIGHUP) }, "EXIT=129",
			"rolevault: interrupted by SIGHUP while asking for the secret access key", true},
		{"Ctrl-C at the secret", "Enter Secret Access Key:", func(pt *promptTerm) { pt.keys("-l", "half"); pt.keys("C-c") }, "EXIT=130",
			"rolevault: interrupted while asking for the secret access key", true},
		{"SIGTERM at the passphrase", "Choose a passphrase", func(pt *promptTerm) { pt.signal(syscall.SIGTERM) }, "EXIT=143",
			"rolevault: interrupted by SIGTERM while asking for the file keyring passphrase", false},
		{"Ctrl-C at the passphrase", "Choose a passphrase", func(pt *promptTerm) { pt.keys("C-c") }, "EXIT=130",
			"rolevault: interrupted while asking for the file keyring passphrase", false},
		{"Ctrl-C at the key ID", "Enter Access Key ID:", func(pt *promptTerm) { pt.keys("C-c") }, "EXIT=130",
			"rolevault: interrupted while asking for the access key ID", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fileKeyringEnv(t)
			if tc.withPass {
				e.Set("AWS_VAULT_FILE_PASSPHRASE", "pw")
			}
			pt := startPromptTerm(t, e, "add", "prod")
			if tc.at == "Enter Secret Access Key:" {
				pt.WaitFor("Enter Access Key ID:")
				pt.Type(r2ID)
			}
			pt.WaitFor(tc.at)
			tc.stop(pt)
			if x := pt.exit(); x != tc.exit {
				t.Fatalf("%s, want %s; screen:\n%s", x, tc.exit, pt.Screen())
			}
			s := pt.Screen()
			if strings.Count(s, "rolevault:") != 1 || !strings.Contains(s, tc.line+"\n") || strings.Contains(s, "context canceled") || strings.Contains(s, "MFA") {
				t.Errorf("want exactly the line %q; screen:\n%s", tc.line, s)
			}
			pt.echoOn()
			if _, err := os.Stat(filepath.Join(e.Home, "keys", "prod")); err == nil {
				t.Error("a key was stored")
			}
		})
	}
}

// Ctrl-C at the MFA prompt names the device, not "context canceled".
func TestMFAPromptCtrlC(t *testing.T) {
	e := fileKeyringEnv(t)
	const serial = "arn:aws:iam::111111111111:mfa/alice"
	e.WriteConfig(t, "[profile solo]\nregion = us-east-1\nmfa_serial = "+serial+"\n")
	e.Set("AWS_VAULT_FILE_PASSPHRASE", "pw", "AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	expect(t, e.Run(t, "add", "--env", "solo"), 0)
	delete(e.Vars, "AWS_ACCESS_KEY_ID")
	delete(e.Vars, "AWS_SECRET_ACCESS_KEY")
	e.Set("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
	pt := startPromptTerm(t, e, "export", "--format=json", "solo")
	pt.WaitFor("Enter MFA code for " + serial)
	pt.keys("-l", "12")
	pt.keys("C-c")
	if x := pt.exit(); x != "EXIT=130" {
		t.Fatalf("%s; screen:\n%s", x, pt.Screen())
	}
	if s := pt.Screen(); !strings.Contains(s, "rolevault: interrupted while asking for the MFA code for "+serial+"\n") || strings.Contains(s, "context canceled") {
		t.Errorf("screen:\n%s", s)
	}
	pt.echoOn()
}
