package credentials

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

const aliceARN = "arn:aws:iam::111111111111:user/alice"

// loginProfile is alice's base profile, pointed at the emulator.
func (w *world) loginProfile(mfa bool) *config.Profile {
	p := &config.Profile{Name: "login", Region: "eu-west-1", Endpoints: config.Endpoints{EndpointURL: w.url, STSEndpointURL: w.url, IAMEndpointURL: w.url}}
	if mfa {
		p.MFASerial = w.serial
	}
	return p
}

func (w *world) rotate(t *testing.T, p *config.Profile, noSession bool, keys KeyReadWriter) (*RotateResult, error) {
	t.Helper()
	pl, err := NewRotationPlan(p, plan.Options{NoSession: noSession})
	must(t, err)
	if keys == nil {
		keys = &keychain.KeyStore{Keyring: w.kr}
	}
	var lines []string
	res, err := w.provider().Rotate(context.Background(), pl, keys, RotateOptions{
		Progress:           func(f string, a ...any) { lines = append(lines, f) },
		PropagationTimeout: 3 * time.Second,
		PollInterval:       20 * time.Millisecond,
	})
	return res, err
}

// works reports whether AWS accepts c, as any SDK using it would find out.
func (w *world) works(c aws.Credentials) bool {
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.url),
		Credentials: awscreds.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)})
	_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err == nil
}

func (w *world) stored(t *testing.T) aws.Credentials {
	t.Helper()
	c, err := (&keychain.KeyStore{Keyring: w.kr}).Get("login")
	must(t, err)
	return c
}

func (w *world) liveKeys() []string {
	var ids []string
	for _, k := range w.sts.AccessKeys("111111111111", "alice") {
		ids = append(ids, k.AccessKeyID)
	}
	return ids
}

func TestRotateWithMFASession(t *testing.T) {
	w := newWorld(t)
	// IAM is global: it must be signed for us-east-1 although the profile
	// says eu-west-1, and the new key must survive a propagation delay.
	w.sts.SetIAMRegion("us-east-1")
	w.sts.SetKeyPropagationDelay(300 * time.Millisecond)
	old := w.aliceKey

	res, err := w.rotate(t, w.loginProfile(true), false, nil)
	must(t, err)
	now := w.stored(t)
	if now.AccessKeyID == old.AccessKeyID || res.NewKeyID != now.AccessKeyID || res.OldKeyID != old.AccessKeyID || !res.Stored {
		t.Fatalf("result %+v, stored %s, old %s", res, now.AccessKeyID, old.AccessKeyID)
	}
	if res.UserARN != aliceARN {
		t.Errorf("UserARN = %s", res.UserARN)
	}
	if w.works(old) {
		t.Error("the old key still works")
	}
	if !w.works(now) {
		t.Error("the new key does not work")
	}
	if ids := w.liveKeys(); len(ids) != 1 || ids[0] != now.AccessKeyID {
		t.Errorf("keys in AWS = %v, want only %s", ids, now.AccessKeyID)
	}
	if w.mfaAsked.Load() != 1 || w.sts.Calls("GetSessionToken") != 1 {
		t.Errorf("MFA prompts %d, GetSessionToken %d; want one MFA session", w.mfaAsked.Load(), w.sts.Calls("GetSessionToken"))
	}
	for _, c := range w.sts.History() {
		if c.Service == "iam" && c.AccessKeyID == old.AccessKeyID {
			t.Errorf("IAM %s was signed with the long-term key, not the MFA session", c.Action)
		}
	}
}

func TestRotateNoSessionUsesTheKeyItself(t *testing.T) {
	w := newWorld(t)
	res, err := w.rotate(t, w.loginProfile(true), true, nil)
	must(t, err)
	if w.mfaAsked.Load() != 0 || w.sts.Calls("GetSessionToken") != 0 {
		t.Errorf("--no-session asked for MFA")
	}
	if !w.works(w.stored(t)) || w.works(w.aliceKey) || res.NewKeyID == "" {
		t.Errorf("rotation with the key itself did not replace it")
	}
}

func TestRotationPlan(t *testing.T) {
	w := newWorld(t)
	login := w.loginProfile(false)
	roleMFA := &config.Profile{Name: "dev", RoleSettings: config.RoleSettings{RoleARN: devRole}, MFASerial: w.serial, MFAProcess: "ykman", Source: login, SourceProfileName: "login"}
	shared := &config.Profile{Name: "prod", RoleSettings: config.RoleSettings{RoleARN: prodRole}, MFASerial: w.serial, Source: w.loginProfile(true), SourceProfileName: "login"}
	file := &config.Profile{Name: "ci", FileKeys: &config.FileKeys{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "x"}}

	pl, err := NewRotationPlan(login, plan.Options{})
	must(t, err)
	if len(pl.Steps) != 1 {
		t.Errorf("no MFA anywhere: steps %+v, want the stored key alone (IAM refuses sessions without MFA)", pl.Steps)
	}
	pl, err = NewRotationPlan(roleMFA, plan.Options{})
	must(t, err)
	if len(pl.Steps) != 2 || pl.Steps[1].MFASerial != w.serial || pl.Steps[1].MFAProcess != "ykman" || pl.Steps[1].Profile != "login" || pl.Steps[1].CacheKey != "" {
		t.Errorf("MFA only on the role: steps %+v, want an uncached GetSessionToken of login with the role's device", pl.Steps)
	}
	pl, err = NewRotationPlan(shared, plan.Options{})
	must(t, err)
	full, _ := plan.New(shared, plan.Options{})
	if len(pl.Steps) != 2 || pl.Steps[1].CacheKey == "" || pl.Steps[1].CacheKey != full.Steps[1].CacheKey {
		t.Errorf("shared session: steps %+v, want the cached session the role uses", pl.Steps)
	}
	if _, err := NewRotationPlan(file, plan.Options{}); err == nil || !strings.Contains(err.Error(), "credentials file") {
		t.Errorf("keys from the credentials file: err = %v", err)
	}
}

// checkLive asserts the rotation error says which key is live and that the
// keychain holds a key AWS accepts.
func checkLive(t *testing.T, w *world, err error, wantStored string, mention ...string) {
	t.Helper()
	var re *RotateError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want a *RotateError", err, err)
	}
	stored := w.stored(t)
	if stored.AccessKeyID != wantStored {
		t.Errorf("keychain holds %s, want %s", stored.AccessKeyID, wantStored)
	}
	if !w.works(stored) {
		t.Errorf("the key in the keychain (%s) does not work", stored.AccessKeyID)
	}
	for _, m := range append(mention, wantStored) {
		if !strings.Contains(re.Error(), m) {
			t.Errorf("message %q does not mention %s", re.Error(), m)
		}
	}
	if re.Hint() == "" || strings.Contains(re.Error(), "\n") {
		t.Errorf("want one line and a hint, got %q / %q", re.Error(), re.Hint())
	}
}

func TestRotateReplyLostAfterCreateAccessKey(t *testing.T) {
	w := newWorld(t)
	w.sts.FailAfter("CreateAccessKey", "ServiceUnavailable", "Service is unavailable", 1)
	_, err := w.rotate(t, w.loginProfile(true), false, nil)
	ids := w.liveKeys()
	if len(ids) != 2 {
		t.Fatalf("keys in AWS = %v; the fault should have let IAM create one", ids)
	}
	orphan := ids[1]
	checkLive(t, w, err, w.aliceKey.AccessKeyID, orphan, "live in AWS")
	if w.sts.Calls("CreateAccessKey") != 1 {
		t.Errorf("CreateAccessKey was sent %d times; a retry would make a second key", w.sts.Calls("CreateAccessKey"))
	}
	if !strings.Contains(err.(*RotateError).Hint(), orphan) {
		t.Errorf("hint %q does not say which key to delete", err.(*RotateError).Hint())
	}
}

func TestRotateCreateRefused(t *testing.T) {
	w := newWorld(t)
	w.sts.FailNext("CreateAccessKey", "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 1)
	_, err := w.rotate(t, w.loginProfile(false), false, nil)
	checkLive(t, w, err, w.aliceKey.AccessKeyID, "nothing was changed")
	if len(w.liveKeys()) != 1 {
		t.Errorf("keys in AWS = %v", w.liveKeys())
	}
}

func TestRotateRefusesAtTwoKeys(t *testing.T) {
	w := newWorld(t)
	w.sts.AddUser("111111111111", "alice") // a second key, made elsewhere
	_, err := w.rotate(t, w.loginProfile(false), false, nil)
	checkLive(t, w, err, w.aliceKey.AccessKeyID, "two access keys")
	if w.sts.Calls("CreateAccessKey") != 0 {
		t.Error("CreateAccessKey was called at the two-key limit")
	}
}

func TestRotateNewKeyNeverAccepted(t *testing.T) {
	w := newWorld(t)
	w.sts.SetKeyPropagationDelay(time.Hour)
	pl, err := NewRotationPlan(w.loginProfile(false), plan.Options{})
	must(t, err)
	_, err = w.provider().Rotate(context.Background(), pl, &keychain.KeyStore{Keyring: w.kr},
		RotateOptions{PropagationTimeout: 200 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	checkLive(t, w, err, w.aliceKey.AccessKeyID, "not accepted", "deleted")
	if ids := w.liveKeys(); len(ids) != 1 || ids[0] != w.aliceKey.AccessKeyID {
		t.Errorf("keys in AWS = %v; the unusable new key should be gone", ids)
	}
}

func TestRotateDeleteOldFails(t *testing.T) {
	w := newWorld(t)
	w.sts.FailNext("DeleteAccessKey", "AccessDenied", "not allowed", 1)
	res, err := w.rotate(t, w.loginProfile(false), false, nil)
	checkLive(t, w, err, res.NewKeyID, w.aliceKey.AccessKeyID, "both are active")
	if !res.Stored {
		t.Error("Stored = false, but the keychain holds the new key (sessions of the old one must go)")
	}
	if !strings.Contains(err.(*RotateError).Hint(), "delete-access-key --access-key-id "+w.aliceKey.AccessKeyID) {
		t.Errorf("hint %q", err.(*RotateError).Hint())
	}
}

func TestRotateDeleteReplyLostIsSuccess(t *testing.T) {
	w := newWorld(t)
	w.sts.FailAfter("DeleteAccessKey", "ServiceUnavailable", "unavailable", 3)
	res, err := w.rotate(t, w.loginProfile(false), false, nil)
	must(t, err)
	if ids := w.liveKeys(); len(ids) != 1 || ids[0] != res.NewKeyID {
		t.Errorf("keys in AWS = %v", ids)
	}
}

// failingSet is a keychain that cannot store.
type failingSet struct{ keychain.KeyStore }

func (f *failingSet) Set(string, aws.Credentials) error { return errors.New("keychain is read-only") }

func TestRotateStoreFailsDeletesNewKey(t *testing.T) {
	w := newWorld(t)
	_, err := w.rotate(t, w.loginProfile(false), false, &failingSet{keychain.KeyStore{Keyring: w.kr}})
	checkLive(t, w, err, w.aliceKey.AccessKeyID, "read-only", "deleted")
	if len(w.liveKeys()) != 1 {
		t.Errorf("keys in AWS = %v; the new key, whose secret is lost, should be deleted", w.liveKeys())
	}
}

func TestRotateStaleStoredKey(t *testing.T) {
	w := newWorld(t)
	w.sts.DeleteAccessKey(w.aliceKey.AccessKeyID)
	_, err := w.rotate(t, w.loginProfile(false), false, nil)
	if err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Fatalf("err = %v", err)
	}
	if w.sts.Calls("CreateAccessKey") != 0 {
		t.Error("CreateAccessKey was attempted with a dead key")
	}
}

func TestIAMEndpoint(t *testing.T) {
	cfgv := "[profile own]\nregion = eu-west-1\n[profile svc]\nservices = local\n[services local]\niam =\n  endpoint_url = http://127.0.0.1:4\n"
	for _, tc := range []struct {
		profile string
		env     map[string]string
		want    string
	}{
		{"own", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1/"}, "http://127.0.0.1:1"},
		{"own", map[string]string{"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:2"}, ""},
		{"own", map[string]string{"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:2", "AWS_ENDPOINT_URL_IAM": "http://127.0.0.1:3"}, "http://127.0.0.1:3"},
		{"svc", nil, "http://127.0.0.1:4"},
		{"svc", map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, ""},
		{"own", nil, ""},
	} {
		c := loadTest(t, cfgv, "", tc.env)
		p, err := c.Resolve(tc.profile, config.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		if got := iamEndpoint(&plan.Plan{Profile: p}); got != tc.want {
			t.Errorf("iamEndpoint(%s, %v) = %q, want %q", tc.profile, tc.env, got, tc.want)
		}
	}
}

// lossySet is a keychain whose store fails after destroying the old value,
// as an in-place rewrite on a full disk does.
type lossySet struct{ keychain.KeyStore }

func (f *lossySet) Set(p string, _ aws.Credentials) error {
	_ = f.Keyring.Remove(p)
	return errors.New("no space left on device")
}

// TestRotateStoreFailureIsReadBack: after a failed store rotate says what
// the keychain holds from reading it back, never that the old key "is the
// one in the keychain" when it is gone.
func TestRotateStoreFailureIsReadBack(t *testing.T) {
	w := newWorld(t)
	_, err := w.rotate(t, w.loginProfile(false), false, &lossySet{keychain.KeyStore{Keyring: w.kr}})
	if err == nil {
		t.Fatal("rotate succeeded with a keychain that cannot store")
	}
	if strings.Contains(err.Error(), "is the one in the keychain") || strings.Contains(err.Error(), "still holds") {
		t.Errorf("the message claims the old key is stored, but it is gone: %v", err)
	}
	if !strings.Contains(err.Error(), "no longer holds the old key "+w.aliceKey.AccessKeyID) {
		t.Errorf("the message does not say the old key is gone: %v", err)
	}
}

// storedThenFails is a keychain whose store writes the value and then
// reports an error (a failing directory sync, a lost D-Bus reply).
type storedThenFails struct{ keychain.KeyStore }

func (f *storedThenFails) Set(p string, c aws.Credentials) error {
	if err := f.KeyStore.Set(p, c); err != nil {
		return err
	}
	return errors.New("sync failed")
}

// TestRotateStoreErrorButStored: the new key was stored despite the error,
// so rotate must not delete it from AWS (that would leave the keychain with
// a dead key); it finishes the rotation instead.
func TestRotateStoreErrorButStored(t *testing.T) {
	w := newWorld(t)
	old := w.aliceKey.AccessKeyID
	res, err := w.rotate(t, w.loginProfile(false), false, &storedThenFails{keychain.KeyStore{Keyring: w.kr}})
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	got := w.stored(t)
	if got.AccessKeyID != res.NewKeyID || !w.works(got) {
		t.Errorf("the keychain holds %s, which works: %v; want the new key %s", got.AccessKeyID, w.works(got), res.NewKeyID)
	}
	if ids := w.liveKeys(); len(ids) != 1 || ids[0] == old {
		t.Errorf("keys in AWS = %v", ids)
	}
}
