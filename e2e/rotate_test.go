package e2e

// rotate against the emulator: afterwards AWS rejects the old key and
// accepts the new one, which the profile then uses; with a fault after
// CreateAccessKey the keychain keeps the key that works and the message
// names the keys live in AWS.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

// aliceKeys are the access key IDs alice has in the emulated IAM.
func (w *world) aliceKeys() []string {
	var ids []string
	for _, k := range w.STS.AccessKeys(loginAccount, "alice") {
		ids = append(ids, k.AccessKeyID)
	}
	return ids
}

// keyInUse is the long-term key the profile's credentials now come from:
// export login makes an MFA session, and the emulator knows which key
// signed for it.
func (w *world) keyInUse(t *testing.T, flags ...string) string {
	t.Helper()
	r := w.E.Run(t, append(append([]string{"export", "--format=json"}, flags...), "login")...)
	expect(t, r, 0)
	c := parseProcessCreds(t, r.Stdout)
	s, ok := w.STS.Session(c.AccessKeyID)
	if !ok || s.Kind != ststest.KindSessionToken {
		t.Fatalf("export login returned %s, not a GetSessionToken session", c.AccessKeyID)
	}
	return s.CallerAccessKeyID
}

func TestRotate(t *testing.T) {
	w := newWorld(t)
	w.STS.SetIAMRegion("us-east-1")
	w.STS.SetKeyPropagationDelay(1500 * time.Millisecond)
	// Warm a role chain so there are sessions made with the old key.
	expect(t, w.E.Run(t, "export", "--format=json", "role-b"), 0)

	r := w.E.Run(t, "rotate", "login")
	expect(t, r, 0, "err:Waiting for IAM", "err:Deleted the old access key "+w.KeyID, "err:Cleared ")
	if r.Stdout != "" {
		t.Errorf("rotate wrote to stdout: %q", r.Stdout)
	}
	ids := w.aliceKeys()
	if len(ids) != 1 || ids[0] == w.KeyID {
		t.Fatalf("keys in AWS after rotate: %v (old %s)", ids, w.KeyID)
	}
	newKey := ids[0]
	if !strings.Contains(r.Stderr, "now uses access key "+newKey) {
		t.Errorf("stderr does not name the new key %s:\n%s", newKey, r.Stderr)
	}

	// AWS rejects the old key...
	_, err := w.callerIdentity(context.Background(), processCreds{AccessKeyID: w.KeyID, SecretAccessKey: w.Secret})
	if err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Errorf("the old key still works (err = %v)", err)
	}
	// ...and the profile now signs with the new one, through a new MFA
	// session (with the next code: AWS takes each code once).
	now := w.STS.Now().Add(31 * time.Second)
	w.STS.SetNow(func() time.Time { return now })
	if got := w.keyInUse(t, "-t", w.code()); got != newKey {
		t.Errorf("login's credentials come from %s, want the new key %s", got, newKey)
	}
	list := w.E.Run(t, "list", "--sessions")
	expect(t, list, 0)
	if strings.Contains(list.Stdout, "role-b:") || strings.Contains(list.Stdout, "role-a:") {
		t.Errorf("sessions made with the old key survived the rotation:\n%s", list.Stdout)
	}
}

func TestRotateNoSession(t *testing.T) {
	w := newWorld(t)
	expect(t, w.E.Run(t, "rotate", "-n", "login"), 0)
	if w.mfaRuns(t) != 0 || w.STS.Calls("GetSessionToken") != 0 {
		t.Errorf("--no-session asked for MFA (%d runs, %d GetSessionToken)", w.mfaRuns(t), w.STS.Calls("GetSessionToken"))
	}
	if ids := w.aliceKeys(); len(ids) != 1 || ids[0] == w.KeyID {
		t.Errorf("keys in AWS: %v", ids)
	}
}

// TestRotateFaultAfterCreateAccessKey: IAM creates the key but the reply is
// lost. The keychain keeps the old key, which still works, and the message
// says it is the live one and names the key IAM made.
func TestRotateFaultAfterCreateAccessKey(t *testing.T) {
	w := newWorld(t)
	w.STS.FailAfter("CreateAccessKey", "InternalFailure", "We encountered an internal error. Please try again.", 1)
	r := w.E.Run(t, "rotate", "login")
	expect(t, r, 1, "err:"+w.KeyID+", which is live in AWS")
	ids := w.aliceKeys()
	if len(ids) != 2 {
		t.Fatalf("keys in AWS: %v; the fault should let IAM create one", ids)
	}
	if !strings.Contains(r.Stderr, ids[1]) {
		t.Errorf("the message does not name the key IAM created (%s):\n%s", ids[1], r.Stderr)
	}
	if got := w.keyInUse(t); got != w.KeyID {
		t.Errorf("after the failed rotation the profile uses %s, want the old key %s", got, w.KeyID)
	}
	if w.STS.Calls("CreateAccessKey") != 1 {
		t.Errorf("CreateAccessKey was sent %d times", w.STS.Calls("CreateAccessKey"))
	}
}
