package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func (w *consoleWorld) storedKey(t *testing.T) aws.Credentials {
	t.Helper()
	c, err := fileStore(t, w.home, "test-passphrase").Get("login")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *consoleWorld) liveKeys() []string {
	var ids []string
	for _, k := range w.sts.AccessKeys("111111111111", "alice") {
		ids = append(ids, k.AccessKeyID)
	}
	return ids
}

func TestRotateClearsSessionsOfTheChain(t *testing.T) {
	w := newConsoleWorld(t, true)
	w.sts.SetKeyPropagationDelay(1500 * time.Millisecond)
	// Sessions made with the old key: dev's role session, and prod's with
	// the MFA session of login that prod shares.
	if code, _, stderr := krRun(t, "export", "--format", "json", "dev"); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := krRun(t, "export", "--format", "json", "-t", w.code(), "prod"); code != 0 {
		t.Fatal(stderr)
	}
	if sessions, _ := fileStore(t, w.home, "test-passphrase").Sessions(); len(sessions) != 3 {
		t.Fatalf("sessions before: %+v", sessions)
	}
	old := w.storedKey(t)

	// Rotating prod rotates login's key, with the cached MFA session: no
	// code is asked for (stdin is empty and there is no terminal).
	code, out, stderr := krRun(t, "rotate", "prod")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	now := w.storedKey(t)
	if now.AccessKeyID == old.AccessKeyID {
		t.Fatal("the stored key did not change")
	}
	if ids := w.liveKeys(); len(ids) != 1 || ids[0] != now.AccessKeyID {
		t.Errorf("keys in AWS: %v, want only %s", ids, now.AccessKeyID)
	}
	for _, want := range []string{"Waiting for IAM", "Deleted the old access key " + old.AccessKeyID, "Cleared 3 cached sessions", "now uses access key " + now.AccessKeyID} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if sessions, _ := fileStore(t, w.home, "test-passphrase").Sessions(); len(sessions) != 0 {
		t.Errorf("sessions after: %+v", sessions)
	}
	// The profile works with the new key (a fresh MFA session is needed).
	w.sts.SetNow(func() time.Time { return time.Now().Add(31 * time.Second) })
	if code, _, stderr := krRun(t, "export", "--format", "json", "-t", w.code(), "prod"); code != 0 {
		t.Errorf("prod after rotation: %s", stderr)
	}
}

func TestRotateFaultAfterCreateKeepsWorkingKey(t *testing.T) {
	w := newConsoleWorld(t, false)
	w.sts.FailAfter("CreateAccessKey", "ServiceUnavailable", "Service Unavailable", 1)
	code, _, stderr := krRun(t, "rotate", "login")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := w.storedKey(t); got.AccessKeyID != w.key.AccessKeyID {
		t.Errorf("keychain holds %s, want the old, working %s", got.AccessKeyID, w.key.AccessKeyID)
	}
	ids := w.liveKeys()
	if len(ids) != 2 {
		t.Fatalf("keys in AWS: %v", ids)
	}
	for _, want := range []string{w.key.AccessKeyID + ", which is live in AWS", ids[1]} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// And the profile still works.
	if code, _, stderr := krRun(t, "export", "--format", "json", "dev"); code != 0 {
		t.Errorf("dev after the failed rotation: %s", stderr)
	}
}

func TestRotateRefusesKeysItDoesNotStore(t *testing.T) {
	home := keysEnv(t)
	writeConfig(t, home, "[profile ci]\ncredential_process = /bin/false\n")
	code, _, stderr := krRun(t, "--backend", "file", "rotate", "ci")
	if code != 1 || !strings.Contains(stderr, "credential_process") || !strings.Contains(stderr, "only replaces keys rolevault stores") {
		t.Errorf("exit %d, %q", code, stderr)
	}
}
