package keychain

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	jose "github.com/dvsekhvalnov/jose2go"
	"github.com/rolevault/rolevault/plan"
)

func fileKeyring(t *testing.T, dir, pass string) keyring.Keyring {
	t.Helper()
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		ServiceName:      ServiceName,
		FileDir:          dir,
		FilePasswordFunc: keyring.FixedStringPrompt(pass),
	})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestKeyStoreWritesAwsVaultLayout(t *testing.T) {
	kr := keyring.NewArrayKeyring(nil)
	ks := &KeyStore{Keyring: kr}
	in := aws.Credentials{AccessKeyID: "AKIAEXAMPLEEXAMPLE01", SecretAccessKey: "secret/with+chars0000000000000000000000"}
	if err := ks.Set("dev", in); err != nil {
		t.Fatal(err)
	}
	item, err := kr.Get("dev")
	if err != nil {
		t.Fatal(err)
	}
	// aws-vault v7's CredentialKeyring.Set writes exactly these fields.
	if item.Key != "dev" || item.Label != "aws-vault (dev)" || item.Description != "" ||
		!item.KeychainNotTrustApplication || item.KeychainNotSynchronizable {
		t.Errorf("item metadata = %+v, want aws-vault's layout", item)
	}
	var raw map[string]any
	if err := json.Unmarshal(item.Data, &raw); err != nil {
		t.Fatal(err)
	}
	// The JSON is aws.Credentials with its Go field names, as aws-vault marshals it.
	for _, k := range []string{"AccessKeyID", "SecretAccessKey", "SessionToken", "Source", "CanExpire", "Expires"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("stored JSON lacks %q: %s", k, item.Data)
		}
	}
	if raw["AccessKeyID"] != in.AccessKeyID || raw["SecretAccessKey"] != in.SecretAccessKey {
		t.Errorf("stored JSON = %s", item.Data)
	}
}

func TestKeyStoreReadsItemsWrittenByAwsVault(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	kr := keyring.NewArrayKeyring([]keyring.Item{
		{Key: "plain", Label: "aws-vault (plain)", KeychainNotTrustApplication: true,
			Data: []byte(`{"AccessKeyID":"AKIAPLAIN00000000001","SecretAccessKey":"s1","SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}`)},
		{Key: "full", Label: "aws-vault (full)", KeychainNotTrustApplication: true,
			Data: []byte(`{"AccessKeyID":"AKIAFULL000000000002","SecretAccessKey":"s2","SessionToken":"","Source":"EnvConfigCredentials","CanExpire":true,"Expires":"2030-01-02T03:04:05Z"}`)},
		// aws-vault v6 wrote aws-sdk-go v1's credentials.Value: ProviderName instead of Source.
		{Key: "v6", Label: "aws-vault (v6)",
			Data: []byte(`{"AccessKeyID":"AKIAV6000000000000003","SecretAccessKey":"s3","SessionToken":"","ProviderName":""}`)},
	})
	ks := &KeyStore{Keyring: kr}
	tests := []struct {
		profile string
		want    aws.Credentials
	}{
		{"plain", aws.Credentials{AccessKeyID: "AKIAPLAIN00000000001", SecretAccessKey: "s1"}},
		{"full", aws.Credentials{AccessKeyID: "AKIAFULL000000000002", SecretAccessKey: "s2", Source: "EnvConfigCredentials", CanExpire: true, Expires: exp}},
		{"v6", aws.Credentials{AccessKeyID: "AKIAV6000000000000003", SecretAccessKey: "s3"}},
	}
	for _, tt := range tests {
		got, err := ks.Get(tt.profile)
		if err != nil {
			t.Errorf("Get(%q): %v", tt.profile, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Get(%q) = %+v, want %+v", tt.profile, got, tt.want)
		}
	}
}

func TestKeyStoreGetErrors(t *testing.T) {
	kr := keyring.NewArrayKeyring([]keyring.Item{
		{Key: "garbage", Data: []byte("not json")},
		{Key: "empty", Data: []byte(`{"AccessKeyID":""}`)},
	})
	ks := &KeyStore{Keyring: kr}

	_, err := ks.Get("missing")
	if !errors.Is(err, ErrKeyNotStored) || !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("missing: err = %v, want ErrKeyNotStored and keyring.ErrKeyNotFound", err)
	}
	if err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("missing: error %v does not name the profile", err)
	}
	for _, p := range []string{"garbage", "empty"} {
		_, err := ks.Get(p)
		if err == nil || errors.Is(err, ErrKeyNotStored) || !strings.Contains(err.Error(), p) {
			t.Errorf("Get(%q) err = %v, want a named 'not an access key' error", p, err)
		}
	}
}

func TestKeyStoreListsOnlyProfiles(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	items := []keyring.Item{
		{Key: "dev"}, {Key: "login"}, {Key: "with:colon"},
		{Key: plan.SessionKey(plan.StepAssumeRole, "dev", "arn:aws:iam::1:role/x")},
		{Key: "sts.GetSessionToken," + b64([]byte("login")) + "," + b64([]byte("arn:aws:iam::1:mfa/a")) + ",1700000000"},
		{Key: "sts.AssumeRole," + b64([]byte("dev")) + ",,1700000000"},
		{Key: "oidc:https://example.awsapps.com/start"},
		{Key: "session,ZGV2,,1500000000"},
		{Key: "dev session (1500000000)"},
	}
	ks := &KeyStore{Keyring: keyring.NewArrayKeyring(items)}
	got, err := ks.ListProfiles()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dev", "login", "with:colon"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListProfiles = %q, want %q", got, want)
	}
	for _, p := range []string{"dev", "with:colon"} {
		if ok, err := ks.Has(p); !ok || err != nil {
			t.Errorf("Has(%q) = %v, %v", p, ok, err)
		}
	}
	if ok, _ := ks.Has("prod"); ok {
		t.Error("Has(prod) = true for a profile with no key")
	}
}

func TestKeyStoreSessions(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	devSess := plan.SessionKey(plan.StepAssumeRole, "dev", "a")
	devSess2 := plan.SessionKey(plan.StepGetSessionToken, "dev", "b")
	loginSess := plan.SessionKey(plan.StepGetSessionToken, "login", "c")
	awsVaultDev := "sts.GetSessionToken," + b64([]byte("dev")) + ",,1700000000"
	awsVaultLogin := "sts.GetSessionToken," + b64([]byte("login")) + ",,1700000000"
	kr := keyring.NewArrayKeyring([]keyring.Item{
		{Key: "dev"}, {Key: devSess}, {Key: devSess2}, {Key: loginSess}, {Key: awsVaultDev}, {Key: awsVaultLogin},
	})
	indexDir := t.TempDir()
	cache := &SessionCache{Keyring: kr, IndexDir: indexDir}
	cache.writeIndex(devSess, &Session{Expiration: time.Now().Add(time.Hour)})
	ks := &KeyStore{Keyring: kr, SessionIndexDir: indexDir}

	sess, err := ks.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	if len(sess) != 3 || sess[0].Profile != "dev" || sess[2].Profile != "login" || sess[2].Kind != plan.StepGetSessionToken {
		t.Fatalf("Sessions = %+v", sess)
	}

	n, err := ks.RemoveSessions("dev")
	if err != nil || n != 3 {
		t.Fatalf("RemoveSessions(dev) = %d, %v; want 3 (two rolevault, one aws-vault)", n, err)
	}
	left, _ := kr.Keys()
	want := map[string]bool{"dev": true, loginSess: true, awsVaultLogin: true}
	if len(left) != len(want) {
		t.Errorf("left after RemoveSessions(dev): %q", left)
	}
	for _, k := range left {
		if !want[k] {
			t.Errorf("RemoveSessions(dev) left %q", k)
		}
	}
	if _, ok, _ := cache.Expiry(devSess); ok {
		t.Error("the session index still lists a removed session")
	}
}

func TestKeyStoreRemove(t *testing.T) {
	// The file backend returns an fs error for a missing item; KeyStore must
	// still report "not stored", and remove only what it names.
	kr := fileKeyring(t, t.TempDir(), "pw")
	ks := &KeyStore{Keyring: kr}
	if err := ks.Remove("nope"); !errors.Is(err, ErrKeyNotStored) {
		t.Errorf("Remove(missing) = %v, want ErrKeyNotStored", err)
	}
	for _, p := range []string{"a", "b"} {
		if err := ks.Set(p, aws.Credentials{AccessKeyID: "AKIA" + p, SecretAccessKey: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ks.Remove("a"); err != nil {
		t.Fatal(err)
	}
	got, _ := ks.ListProfiles()
	if !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("after Remove(a): %q", got)
	}
}

func TestKeyStoreRefusesReservedNames(t *testing.T) {
	ks := &KeyStore{Keyring: keyring.NewArrayKeyring(nil)}
	for _, name := range []string{"", plan.SessionKey(plan.StepAssumeRole, "dev"), "oidc:https://x", "sts.AssumeRole,ZGV2,,1700000000"} {
		if err := ks.Set(name, aws.Credentials{AccessKeyID: "AKIA", SecretAccessKey: "s"}); err == nil {
			t.Errorf("Set(%q) succeeded; it would be hidden from ListProfiles", name)
		}
	}
}

// keyring v1.2.2 pins jose2go v1.5.0, so every file keyring aws-vault users
// have was written by it. This module pins a newer jose2go; it must read them.
func TestFileKeyringReadsJose2goV150Items(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("testdata", "filekeyring-jose2go-v1.5.0")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ks := &KeyStore{Keyring: fileKeyring(t, dir, "rolevault-fixture")}
	profiles, err := ks.ListProfiles()
	if err != nil || !reflect.DeepEqual(profiles, []string{"legacy", "with-source"}) {
		t.Fatalf("ListProfiles = %q, %v", profiles, err)
	}
	got, err := ks.Get("with-source")
	if err != nil {
		t.Fatal(err)
	}
	want := aws.Credentials{AccessKeyID: "AKIAFIXTURESOURCE002", SecretAccessKey: "fixtureSecretSource0000000000000000000002",
		Source: "EnvConfigCredentials", CanExpire: true, Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get(with-source) = %+v", got)
	}
	if got, err := ks.Get("legacy"); err != nil || got.AccessKeyID != "AKIAFIXTURELEGACY001" {
		t.Errorf("Get(legacy) = %+v, %v", got, err)
	}
	item, err := ks.Keyring.Get("legacy")
	if err != nil || item.Label != "aws-vault (legacy)" || !item.KeychainNotTrustApplication {
		t.Errorf("raw legacy item = %+v, %v", item, err)
	}

	// A wrong passphrase fails the AES key unwrap; cli turns this into its
	// "wrong passphrase" message, so the text must stay recognisable.
	_, err = (&KeyStore{Keyring: fileKeyring(t, dir, "wrong")}).Get("legacy")
	if err == nil || !strings.Contains(err.Error(), "integrity check failed") {
		t.Errorf("wrong passphrase: err = %v", err)
	}
}

// jose2go before v1.6.0 runs PBKDF2 for whatever iteration count (p2c) a file
// names, so a planted file in the keyring directory could pin a CPU for hours
// (GHSA-6294-6rgp-fr7r); it also had an unbounded-decompression advisory. The
// pinned version must refuse a huge p2c at once.
func TestJose2goRefusesHugeIterationCount(t *testing.T) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/dvsekhvalnov/jose2go" {
				v := d.Version
				if d.Replace != nil {
					v = d.Replace.Version
				}
				if versionBefore(v, 1, 6) {
					t.Errorf("jose2go %s is linked; versions before v1.6.0 have the PBES2 p2c and decompression advisories", v)
				}
			}
		}
	}
	// Build the hostile token by hand: take a normal one and raise p2c in its header.
	token, err := jose.Encrypt(`{"Key":"x"}`, jose.PBES2_HS256_A128KW, jose.A256GCM, "pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	h["p2c"] = 2_000_000_000
	hdr, _ = json.Marshal(h)
	parts[0] = base64.RawURLEncoding.EncodeToString(hdr)
	done := make(chan error, 1)
	go func() { _, _, err := jose.Decode(strings.Join(parts, "."), "pw"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "p2c") {
			t.Errorf("decoding with p2c=2e9: err = %v, want a p2c limit error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("jose2go is still running PBKDF2 for p2c=2e9 after 10s: the pinned version is vulnerable")
	}
}

// versionBefore reports whether a module version vMAJOR.MINOR.… is older than
// major.minor; pseudo-versions count by their base release.
func versionBefore(v string, major, minor int) bool {
	f := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(f) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(f[0])
	mi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma < major || (ma == major && mi < minor)
}
