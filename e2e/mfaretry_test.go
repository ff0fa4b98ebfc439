package e2e

// A reply lost after STS accepted an MFA code (issue 9, point 7). The
// emulator, like AWS, accepts a code once; its LoseReply fault lets the call
// take effect and then closes the connection, so the code is used up and no
// credentials come back. Before the fix the SDK resent the same request, AWS
// refused the used code, and rolevault said the code was wrong.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

// tokenCodes counts the GetSessionToken requests that carried each code.
func (w *world) tokenCodes() map[string]int {
	n := map[string]int{}
	for _, c := range w.STS.History() {
		if c.Action == "GetSessionToken" && c.TokenCode != "" {
			n[c.TokenCode]++
		}
	}
	return n
}

// At a terminal: the first reply is lost, rolevault asks for the next code
// saying the last one may have been used, and succeeds with it. Two
// GetSessionToken calls reach STS, each with its own code.
func TestLostReplyAsksForTheNextCodeOnTerminal(t *testing.T) {
	w := newWorld(t)
	w.E.WriteConfig(t, w.config("[profile tty-login]\nregion = us-east-1\nendpoint_url = "+w.URL+"\nmfa_serial = "+w.Serial+"\n"))
	w.E.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
	expect(t, w.E.Run(t, "add", "tty-login", "--env", "--no-add-config"), 0)
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	w.STS.ResetCounters()
	w.STS.LoseReply("GetSessionToken", 1)

	out := filepath.Join(w.E.Home, "creds.json")
	tm := StartTerminal(t, w.E, "sh", "-c", `"$0" export --format=json tty-login >"$1"`, binary, out)
	tm.WaitFor("Enter MFA code for " + w.Serial)
	first := w.code()
	tm.Type(first)

	// The second ask, with the reason above it.
	screen := ""
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(screen, "Enter MFA code for") < 2 && !strings.Contains(screen, "EXIT=") {
		if time.Now().After(deadline) {
			t.Fatalf("no second ask after the lost reply; screen:\n%s", screen)
		}
		time.Sleep(50 * time.Millisecond)
		screen = tm.Screen()
	}
	if !strings.Contains(screen, "may have used that code") || !strings.Contains(screen, "wait for the next code") {
		t.Fatalf("the second ask does not say the last code may have been used:\n%s", screen)
	}
	next := ststest.TOTP(w.MFASecret, w.STS.Now().Add(30*time.Second))
	tm.Type(next)
	screen = tm.WaitFor("EXIT=")
	if !strings.Contains(screen, "EXIT=0") {
		t.Fatalf("export failed after the next code:\n%s", screen)
	}
	for _, bad := range []string{"rejected", "wrong", "invalid"} {
		if strings.Contains(strings.ToLower(screen), bad) {
			t.Errorf("the terminal says %q although no code was wrong:\n%s", bad, screen)
		}
	}

	b, err := os.ReadFile(out)
	must(t, err)
	c := parseProcessCreds(t, string(b))
	if s, ok := w.STS.Session(c.AccessKeyID); !ok || s.Kind != ststest.KindSessionToken || !s.MFA || s.MFASerial != w.Serial {
		t.Errorf("exported %s is not an MFA session the emulator issued", c.AccessKeyID)
	}
	codes := w.tokenCodes()
	if n := w.STS.Calls("GetSessionToken"); n != 2 || len(codes) != 2 || codes[first] != 1 || codes[next] != 1 {
		t.Errorf("GetSessionToken reached STS %d times with codes %v; want 2, the first code and the next, once each", n, codes)
	}
}

// With mfa_process, which cannot be asked for a different code, the lost
// reply ends the command: one line saying AWS may have used the code, a hint
// to wait for the next one, empty stdout, and the code sent once.
func TestLostReplyWithMFAProcessSaysTheCodeMayBeUsed(t *testing.T) {
	w := newWorld(t)
	w.STS.ResetCounters()
	w.STS.LoseReply("GetSessionToken", 1)

	r := w.E.Run(t, "export", "--format=json", "login")
	if r.Code == 0 || r.Stdout != "" {
		t.Fatalf("want a failure with empty stdout: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "the reply from STS was lost") ||
		!strings.Contains(lines[0], "AWS may have used the MFA code for "+w.Serial) || !strings.Contains(lines[1], "wait for the next code") {
		t.Errorf("want one line saying the code may be used up and a hint to wait for the next one: %s", r)
	}
	if strings.Contains(r.Stderr, "rejected") {
		t.Errorf("the error blames the code: %s", r)
	}
	if n, runs := w.STS.Calls("GetSessionToken"), w.mfaRuns(t); n != 1 || runs != 1 {
		t.Errorf("GetSessionToken reached STS %d times, mfa_process ran %d times; want 1 and 1", n, runs)
	}

	// Doing what the hint says works: the next code, in a new run.
	next := ststest.TOTP(w.MFASecret, w.STS.Now().Add(30*time.Second))
	expect(t, w.E.Run(t, "export", "--format=json", "--mfa-token", next, "login"), 0)
}
