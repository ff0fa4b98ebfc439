package keychain

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
	jose "github.com/dvsekhvalnov/jose2go"
	"github.com/rolevault/rolevault/plan"
)

const testFilePass = "file-keyring-test-passphrase"

func newFileKeyring(t *testing.T) (*FileKeyring, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	return &FileKeyring{Dir: dir, PasswordFunc: keyring.FixedStringPrompt(testFilePass)}, dir
}

// libraryFileKeyring is keyring v1.2.2's own file backend, which aws-vault uses.
func libraryFileKeyring(t *testing.T, dir, pass string) keyring.Keyring {
	t.Helper()
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          dir,
		FilePasswordFunc: keyring.FixedStringPrompt(pass),
	})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestFileKeyringFormatIsTheLibrarys: what either writes, the other reads,
// under the same percent-encoded file name, as a JWE with the library's
// algorithms; so aws-vault reads what rolevault writes and the other way.
func TestFileKeyringFormatIsTheLibrarys(t *testing.T) {
	ours, dir := newFileKeyring(t)
	lib := libraryFileKeyring(t, dir, testFilePass)
	mine := keyring.Item{Key: "team/prod%1", Label: "aws-vault (team/prod%1)", Data: []byte(`{"AccessKeyID":"AKIA1"}`)}
	if err := ours.Set(mine); err != nil {
		t.Fatal(err)
	}
	got, err := lib.Get(mine.Key)
	if err != nil || string(got.Data) != string(mine.Data) || got.Label != mine.Label || got.Key != mine.Key {
		t.Fatalf("library reads our item as %+v, %v", got, err)
	}
	theirs := keyring.Item{Key: "dev", Data: []byte(`{"AccessKeyID":"AKIA2"}`)}
	if err := lib.Set(theirs); err != nil {
		t.Fatal(err)
	}
	got, err = ours.Get("dev")
	if err != nil || string(got.Data) != string(theirs.Data) {
		t.Fatalf("we read the library's item as %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "dev team%2Fprod%251" {
		t.Errorf("files = %q", names)
	}
	libKeys, _ := lib.Keys()
	ourKeys, _ := ours.Keys()
	if strings.Join(libKeys, " ") != strings.Join(ourKeys, " ") {
		t.Errorf("Keys: library %q, ours %q", libKeys, ourKeys)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "team%2Fprod%251"))
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(string(b), ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.Unmarshal(hdr, &h)
	if h["alg"] != jose.PBES2_HS256_A128KW || h["enc"] != jose.A256GCM || h["created"] == nil {
		t.Errorf("JWE header = %v", h)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "team%2Fprod%251")); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("item mode %v", fi.Mode().Perm())
	}
}

// TestFileKeyringReplacesByRename: Set makes a new file (a new inode) and
// leaves no temporary file; a reader holding the old file still reads the
// whole old value.
func TestFileKeyringReplacesByRename(t *testing.T) {
	kr, dir := newFileKeyring(t)
	must(t, kr.Set(keyring.Item{Key: "dev", Data: []byte("old")}))
	path := filepath.Join(dir, "dev")
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	must(t, kr.Set(keyring.Item{Key: "dev", Data: []byte("new")}))
	before, _ := f.Stat()
	after, _ := os.Stat(path)
	if os.SameFile(before, after) {
		t.Fatal("Set rewrote the item's file in place")
	}
	old := make([]byte, before.Size())
	if _, err := f.ReadAt(old, 0); err != nil {
		t.Fatal(err)
	}
	if payload, _, err := jose.Decode(string(old), testFilePass); err != nil || !strings.Contains(payload, base64.StdEncoding.EncodeToString([]byte("old"))) {
		t.Errorf("the old file no longer holds the old item: %v %q", err, payload)
	}
	if got, err := kr.Get("dev"); err != nil || string(got.Data) != "new" {
		t.Errorf("Get = %q, %v", got.Data, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

// TestFileKeyringDoesNotWriteThroughSymlinks: a symlink at an item's name is
// replaced, and the file it pointed at is untouched.
func TestFileKeyringDoesNotWriteThroughSymlinks(t *testing.T) {
	kr, dir := newFileKeyring(t)
	must(t, os.MkdirAll(dir, 0o700))
	victim := filepath.Join(t.TempDir(), "victim")
	must(t, os.WriteFile(victim, []byte("precious"), 0o644))
	must(t, os.Symlink(victim, filepath.Join(dir, "dev")))
	must(t, kr.Set(keyring.Item{Key: "dev", Data: []byte("x")}))
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if fi, _ := os.Lstat(filepath.Join(dir, "dev")); fi.Mode()&os.ModeSymlink != 0 {
		t.Error("the item is still a symlink")
	}
}

// TestFileKeyringTempFiles: a temporary file a killed writer left is not an
// item; a later Set removes it once it is old, and leaves a fresh one (which
// may be a running writer's) alone.
func TestFileKeyringTempFiles(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	kr, dir := newFileKeyring(t)
	kr.Now = func() time.Time { return now }
	must(t, kr.Set(keyring.Item{Key: "dev", Data: []byte("x")}))
	stale, _ := tempName()
	fresh, _ := tempName()
	for _, n := range []string{stale, fresh} {
		must(t, os.WriteFile(filepath.Join(dir, n), []byte("eyJhbGciOi"), 0o600))
	}
	must(t, os.Chtimes(filepath.Join(dir, stale), now.Add(-time.Hour), now.Add(-time.Hour)))
	must(t, os.Chtimes(filepath.Join(dir, fresh), now, now))
	if keys, _ := kr.Keys(); len(keys) != 1 || keys[0] != "dev" {
		t.Errorf("Keys = %q", keys)
	}
	must(t, kr.Set(keyring.Item{Key: "prod", Data: []byte("y")}))
	if _, err := os.Stat(filepath.Join(dir, stale)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file survived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, fresh)); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
}

// TestSessionCacheUndecodableIsAMiss: every way a session item can fail to
// decode is a miss with a debug line, never an error; the item is removed,
// except one that only another passphrase decrypts, which stays for the new
// session to replace.
func TestSessionCacheUndecodableIsAMiss(t *testing.T) {
	key := plan.SessionKey(plan.StepAssumeRole, "prod", "x")
	valid := func(t *testing.T, kr *FileKeyring) []byte {
		c := &SessionCache{Keyring: kr}
		must(t, c.Put(key, &Session{AccessKeyID: "ASIA1", SecretAccessKey: "s", Expiration: time.Now().Add(time.Hour)}))
		b, err := os.ReadFile(filepath.Join(kr.Dir, fileItemName(key)))
		must(t, err)
		return b
	}
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, kr *FileKeyring, path string)
		stays bool
	}{
		{"truncated", func(t *testing.T, kr *FileKeyring, path string) {
			b := valid(t, kr)
			must(t, os.WriteFile(path, b[:len(b)/2], 0o600))
		}, false},
		{"empty", func(t *testing.T, kr *FileKeyring, path string) {
			must(t, os.WriteFile(path, nil, 0o600))
		}, false},
		{"garbage", func(t *testing.T, kr *FileKeyring, path string) {
			must(t, os.WriteFile(path, []byte("\x00\xff not a token at all"), 0o600))
		}, false},
		{"another tool's plain JSON", func(t *testing.T, kr *FileKeyring, path string) {
			must(t, os.WriteFile(path, []byte(`{"AccessKeyId":"ASIA","Expiration":"2030-01-01T00:00:00Z"}`), 0o600))
		}, false},
		{"JWE of something that is not an item", func(t *testing.T, kr *FileKeyring, path string) {
			tok, err := jose.Encrypt("[1,2,3]", jose.PBES2_HS256_A128KW, jose.A256GCM, testFilePass)
			must(t, err)
			must(t, os.WriteFile(path, []byte(tok), 0o600))
		}, false},
		{"item that is not a session", func(t *testing.T, kr *FileKeyring, path string) {
			must(t, kr.Set(keyring.Item{Key: key, Data: []byte(`{"AccessKeyID":"AKIA","SecretAccessKey":"s"}`)}))
		}, false},
		{"a FIFO", func(t *testing.T, kr *FileKeyring, path string) {
			if runtime.GOOS == "windows" {
				t.Skip("no FIFOs")
			}
			must(t, mkfifo(path))
		}, false},
		{"another passphrase", func(t *testing.T, kr *FileKeyring, path string) {
			other := &FileKeyring{Dir: kr.Dir, PasswordFunc: keyring.FixedStringPrompt("another passphrase")}
			valid(t, other)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr, dir := newFileKeyring(t)
			must(t, os.MkdirAll(dir, 0o700))
			path := filepath.Join(dir, fileItemName(key))
			tc.plant(t, kr, path)
			var debug []string
			c := &SessionCache{Keyring: kr, Debugf: func(f string, a ...any) { debug = append(debug, f) }}
			s, err := c.Get(key)
			if s != nil || err != nil {
				t.Fatalf("Get = %+v, %v; want a miss", s, err)
			}
			if len(debug) == 0 {
				t.Error("no --debug line for the undecodable item")
			}
			_, statErr := os.Lstat(path)
			if stays := statErr == nil; stays != tc.stays {
				t.Errorf("item still there: %v, want %v", stays, tc.stays)
			}
			// The next Put replaces it and the cache works again.
			must(t, c.Put(key, &Session{AccessKeyID: "ASIA2", SecretAccessKey: "s", Expiration: time.Now().Add(time.Hour)}))
			if s, err := c.Get(key); err != nil || s == nil || s.AccessKeyID != "ASIA2" {
				t.Errorf("after Put: %+v, %v", s, err)
			}
		})
	}
}
