package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

// keysEnv isolates a test from the real home, config and keyrings: a file
// keyring in a temp dir with a known passphrase, and an empty AWS config.
func keysEnv(t *testing.T) (home string) {
	t.Helper()
	home = t.TempDir()
	for _, k := range []string{"AWS_VAULT_BACKEND", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_PROFILE", "AWS_VAULT_KEYCTL_SCOPE", "AWS_VAULT_PASS_PASSWORD_STORE_DIR", "PASSWORD_STORE_DIR"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_VAULT_FILE_DIR", filepath.Join(home, "keys"))
	t.Setenv("AWS_VAULT_FILE_PASSPHRASE", "test-passphrase")
	t.Setenv("ROLEVAULT_CACHE_DIR", filepath.Join(home, "cache"))
	return home
}

// krRun runs the CLI in-process and returns its exit code, stdout and stderr.
func krRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, "test", Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, home, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(home, "config"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func fileStore(t *testing.T, home, pass string) *keychain.KeyStore {
	t.Helper()
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends: []keyring.BackendType{keyring.FileBackend}, FileDir: filepath.Join(home, "keys"),
		FilePasswordFunc: keyring.FixedStringPrompt(pass),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &keychain.KeyStore{Keyring: kr, SessionIndexDir: filepath.Join(home, "cache")}
}

const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func TestBackendErrors(t *testing.T) {
	keysEnv(t)
	other := map[string]string{"linux": "keychain", "darwin": "wincred", "windows": "keychain"}[runtime.GOOS]
	tests := []struct {
		args []string
		want []string // substrings of stderr
	}{
		{[]string{"--backend", other, "list"}, []string{"keyring backend " + other + " is not available on this machine", "--backend file"}},
	}
	for _, tt := range tests {
		code, _, stderr := krRun(t, tt.args...)
		if code != ExitError {
			t.Errorf("%v: exit %d, want %d", tt.args, code, ExitError)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", tt.args, stderr, w)
			}
		}
	}
}

func TestKeyctlScopeIsChecked(t *testing.T) {
	keysEnv(t)
	t.Setenv("AWS_VAULT_KEYCTL_SCOPE", "galaxy")
	code, _, stderr := krRun(t, "--backend", "file", "list")
	if code != ExitError || !strings.Contains(stderr, `AWS_VAULT_KEYCTL_SCOPE="galaxy"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestDefaultBackendOnHeadlessLinuxIsFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the default order differs by OS")
	}
	home := keysEnv(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_CURRENT_DESKTOP", "")
	t.Setenv("PASSWORD_STORE_DIR", filepath.Join(home, "no-pass-store"))
	// The library registers secret-service only when a bus answered at start;
	// when this test process has one, the order would rightly pick it.
	for _, b := range keyring.AvailableBackends() {
		if b == keyring.SecretServiceBackend {
			t.Skip("this test process has a D-Bus session bus")
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	code, out, stderr := krRun(t, "add", "dev", "--env")
	if code != 0 || !strings.Contains(out, "to the file keyring") {
		t.Fatalf("add: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "keys", "dev")); err != nil {
		t.Errorf("the key is not in the file keyring: %v", err)
	}
}

func TestFilePassphraseErrors(t *testing.T) {
	home := keysEnv(t)
	if err := fileStore(t, home, "right").Set("dev", aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  *string // AWS_VAULT_FILE_PASSPHRASE; nil = unset
		want []string
	}{
		{"wrong", ptr("wrong"), []string{"wrong passphrase for the file keyring in " + filepath.Join(home, "keys"), "AWS_VAULT_FILE_PASSPHRASE does not match"}},
		{"empty", ptr(""), []string{"empty passphrase"}},
		// go test has no controlling terminal in CI; when run from a
		// terminal, /dev/tty exists and this case would prompt, so skip it.
		{"no terminal", nil, []string{"needs its passphrase, and there is no terminal", "set AWS_VAULT_FILE_PASSPHRASE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env == nil {
				if f, err := os.Open("/dev/tty"); err == nil {
					f.Close()
					t.Skip("this test run has a terminal")
				}
				os.Unsetenv("AWS_VAULT_FILE_PASSPHRASE")
			} else {
				t.Setenv("AWS_VAULT_FILE_PASSPHRASE", *tt.env)
			}
			code, _, stderr := krRun(t, "--backend", "file", "list", "--check")
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.ToLower(stderr), strings.ToLower(w)) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestFileKeyringModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	home := keysEnv(t)
	dir := filepath.Join(home, "keys")
	// A directory made by hand with loose modes, and an item copied in 0644.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fileStore(t, home, "test-passphrase").Set("old", aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, "old"), 0o644)
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	if code, _, stderr := krRun(t, "--backend", "file", "add", "new", "--env"); code != 0 {
		t.Fatalf("add: %s", stderr)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "old"): 0o600, filepath.Join(dir, "new"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", path, fi.Mode().Perm(), want)
		}
	}
}

func TestAddRefusesSourceProfile(t *testing.T) {
	home := keysEnv(t)
	writeConfig(t, home, "[profile login]\n[profile dev]\nsource_profile = login\nrole_arn = arn:aws:iam::111111111111:role/dev\n"+
		"[profile prod]\nsource_profile = dev\nrole_arn = arn:aws:iam::222222222222:role/prod\n")
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	code, _, stderr := krRun(t, "--backend", "file", "add", "prod", "--env")
	if code != ExitError || !strings.Contains(stderr, `takes its keys from source_profile "dev"`) || !strings.Contains(stderr, "rolevault add login") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "keys", "prod")); err == nil {
		t.Error("the key was stored anyway")
	}
	// The source profile itself is fine.
	if code, _, stderr := krRun(t, "--backend", "file", "add", "login", "--env"); code != 0 {
		t.Errorf("add login: %s", stderr)
	}
}

func TestAddValidatesKey(t *testing.T) {
	keysEnv(t)
	tests := []struct{ id, secret, want string }{
		{testSecret, testKeyID, "looks like a secret access key"},
		{testKeyID, testKeyID, "secret access key looks like an access key ID"},
		{"ASIAIOSFODNN7EXAMPLE", testSecret, "temporary"},
		{testKeyID, "a secret", "space"},
		{testKeyID, "", "AWS_SECRET_ACCESS_KEY is not set"},
	}
	for _, tt := range tests {
		t.Setenv("AWS_ACCESS_KEY_ID", tt.id)
		t.Setenv("AWS_SECRET_ACCESS_KEY", tt.secret)
		code, out, stderr := krRun(t, "--backend", "file", "add", "dev", "--env")
		if code != ExitError || !strings.Contains(stderr, tt.want) {
			t.Errorf("id %q: exit %d, stderr %q, want %q", tt.id, code, stderr, tt.want)
		}
		if tt.secret != "" && strings.Contains(out+stderr, tt.secret) {
			t.Errorf("the secret was printed: %q", out+stderr)
		}
	}
}

func TestAddStoresAndAddsConfig(t *testing.T) {
	home := keysEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	ks := fileStore(t, home, "test-passphrase")
	old := plan.SessionKey(plan.StepGetSessionToken, "dev", "x")
	cache := &keychain.SessionCache{Keyring: ks.Keyring, IndexDir: ks.SessionIndexDir}
	if err := cache.Put(old, &keychain.Session{AccessKeyID: "ASIA", Expiration: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := krRun(t, "--backend", "file", "add", "dev", "--env")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(out+stderr, testSecret) {
		t.Error("the secret was printed")
	}
	got, err := ks.Get("dev")
	if err != nil || got.AccessKeyID != testKeyID || got.SecretAccessKey != testSecret {
		t.Errorf("stored %+v, %v", got, err)
	}
	if _, err := ks.Keyring.Get(old); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("the session cached with the old key survived: %v", err)
	}
	cfg, _ := os.ReadFile(filepath.Join(home, "config"))
	if !strings.Contains(string(cfg), "[profile dev]") {
		t.Errorf("config = %q", cfg)
	}
	// --no-add-config leaves the file alone.
	if code, _, stderr := krRun(t, "--backend", "file", "add", "other", "--env", "--no-add-config"); code != 0 {
		t.Fatal(stderr)
	}
	cfg2, _ := os.ReadFile(filepath.Join(home, "config"))
	if string(cfg2) != string(cfg) {
		t.Errorf("--no-add-config changed the config: %q", cfg2)
	}
}

func TestRemove(t *testing.T) {
	home := keysEnv(t)
	ks := fileStore(t, home, "test-passphrase")
	for _, p := range []string{"dev", "prod"} {
		if err := ks.Set(p, aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}); err != nil {
			t.Fatal(err)
		}
	}
	cache := &keychain.SessionCache{Keyring: ks.Keyring, IndexDir: ks.SessionIndexDir}
	sess := plan.SessionKey(plan.StepGetSessionToken, "dev", "x")
	if err := cache.Put(sess, &keychain.Session{AccessKeyID: "ASIA", Expiration: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := krRun(t, "--backend", "file", "remove", "nope", "-f")
	if code != ExitError || !strings.Contains(stderr, `no access key is stored for profile "nope"`) ||
		!strings.Contains(stderr, "in the file keyring (~/keys)") {
		t.Errorf("remove missing: exit %d, stderr %q", code, stderr)
	}
	code, out, stderr := krRun(t, "--backend", "file", "rm", "-f", "dev")
	if code != 0 || !strings.Contains(out, "Deleted 1 cached session") {
		t.Fatalf("remove: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	left, _ := ks.ListProfiles()
	if len(left) != 1 || left[0] != "prod" {
		t.Errorf("left %q", left)
	}
	if s, _ := ks.Sessions(); len(s) != 0 {
		t.Errorf("sessions left: %+v", s)
	}
}

func TestList(t *testing.T) {
	home := keysEnv(t)
	writeConfig(t, home, "[profile login]\n[profile dev]\nsource_profile = login\nrole_arn = arn:aws:iam::111111111111:role/dev\n")
	ks := fileStore(t, home, "test-passphrase")
	for _, p := range []string{"login", "orphan"} {
		if err := ks.Set(p, aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}); err != nil {
			t.Fatal(err)
		}
	}
	// One session in the index, one only in the keyring: list must read that
	// one's expiry from the keyring item.
	cache := &keychain.SessionCache{Keyring: ks.Keyring, IndexDir: ks.SessionIndexDir}
	exp := time.Now().Add(30 * time.Minute)
	if err := cache.Put(plan.SessionKey(plan.StepAssumeRole, "dev", "a"), &keychain.Session{AccessKeyID: "ASIA", Expiration: exp}); err != nil {
		t.Fatal(err)
	}
	noIndex := &keychain.SessionCache{Keyring: ks.Keyring}
	if err := noIndex.Put(plan.SessionKey(plan.StepGetSessionToken, "login", "b"), &keychain.Session{AccessKeyID: "ASIA", Expiration: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}

	check := func(args []string, want string) {
		t.Helper()
		code, out, stderr := krRun(t, append([]string{"--backend", "file", "list"}, args...)...)
		if code != 0 || out != want {
			t.Errorf("list %v: exit %d, stdout %q, want %q (stderr %q)", args, code, out, want, stderr)
		}
	}
	check([]string{"--profiles"}, "login\ndev\n") // the file's order, as aws configure list-profiles
	check([]string{"--credentials"}, "login\norphan\n")

	code, out, _ := krRun(t, "--backend", "file", "list", "--sessions")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "dev:AssumeRole:29m") || lines[1] != "login:GetSessionToken:expired" {
		t.Errorf("--sessions: %q", out)
	}

	code, out, _ = krRun(t, "--backend", "file", "list")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(rows) != 4 || !strings.HasPrefix(rows[0], "PROFILE") {
		t.Fatalf("table: %q", out)
	}
	// Columns line up: each row's CREDENTIALS column starts where the header's does.
	col := strings.Index(rows[0], "CREDENTIALS")
	for _, r := range rows[1:] {
		if len(r) <= col || r[col-1] != ' ' || r[col] == ' ' {
			t.Errorf("row %q is not aligned with the header %q", r, rows[0])
		}
	}
	if !strings.Contains(rows[1], "AssumeRole 29m") || !strings.Contains(rows[2], "GetSessionToken expired") || !strings.Contains(rows[3], "orphan (not in config)") {
		t.Errorf("table rows: %q", rows)
	}

	code, out, _ = krRun(t, "--backend", "file", "list", "--json")
	var doc struct {
		Backend  string
		Profiles []listedProfile
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("--json: %v in %q", err, out)
	}
	if doc.Backend != "file" || len(doc.Profiles) != 3 || doc.Profiles[0].HasCredentials || !doc.Profiles[1].HasCredentials ||
		len(doc.Profiles[0].Sessions) != 1 || doc.Profiles[0].Sessions[0].SecondsLeft < 29*60 || !doc.Profiles[1].Sessions[0].Expired || doc.Profiles[2].InConfig {
		t.Errorf("--json = %+v", doc)
	}

	code, out, _ = krRun(t, "--backend", "file", "list", "--credentials", "--check")
	if code != 0 || out != "login\tAKIA************MPLE\norphan\tAKIA************MPLE\n" {
		t.Errorf("--credentials --check: %q", out)
	}
}
