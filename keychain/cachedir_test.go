//go:build unix

package keychain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/plan"
)

func TestPrivateDirRefusesWithoutChmod(t *testing.T) {
	for _, tc := range []struct {
		mode    os.FileMode
		problem string
	}{
		{0o755, ""}, // not writable by others: used as it is
		{0o700, ""},
		{0o775, "is writable by other users (mode 0775)"},
		{0o777, "is writable by other users (mode 0777)"},
		{os.ModeSticky | 0o777, "is writable by other users (mode 1777)"},
	} {
		dir := filepath.Join(t.TempDir(), "c")
		must(t, os.Mkdir(dir, 0o700))
		must(t, os.Chmod(dir, tc.mode))
		before, _ := os.Stat(dir)
		err := privateDir(dir)
		after, _ := os.Stat(dir)
		if after.Mode() != before.Mode() {
			t.Errorf("%v: mode changed to %v", tc.mode, after.Mode())
		}
		var ce *CacheDirError
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%v: %v", tc.mode, err)
		case tc.problem != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), tc.problem) || ce.Hint() == ""):
			t.Errorf("%v: err = %v, want %q with a hint", tc.mode, err, tc.problem)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: the error is not one line: %q", tc.mode, err)
		}
	}
}

func TestPrivateDirRefusesAnotherUsersDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give a directory to another user")
	}
	dir := filepath.Join(t.TempDir(), "c")
	must(t, os.Mkdir(dir, 0o700))
	must(t, os.Chown(dir, 65534, 65534))
	if err := privateDir(dir); err == nil || !strings.Contains(err.Error(), "is owned by uid 65534") {
		t.Fatalf("err = %v", err)
	}
}

func TestPrivateDirOnlyChmodsWhatItCreates(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "p")
	must(t, os.Mkdir(parent, 0o755))
	dir := filepath.Join(parent, "a", "b")
	old := umask(0o277) // would leave new directories 0500
	defer umask(old)
	must(t, privateDir(dir))
	for _, d := range []string{filepath.Join(parent, "a"), dir} {
		if fi, _ := os.Stat(d); fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v", d, fi.Mode())
		}
	}
	if fi, _ := os.Stat(parent); fi.Mode().Perm() != 0o755 {
		t.Errorf("the existing parent was changed to %v", fi.Mode())
	}
	if err := privateDir(filepath.Join(parent, "a", "b")); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(parent, "file")
	must(t, os.WriteFile(f, nil, 0o600))
	if err := privateDir(f); err == nil {
		t.Error("a file was accepted as the cache directory")
	}
}

// TestCacheFilesDoNotFollowSymlinks: symlinks planted at the names of the
// lock, its holder file and an index entry are never written through.
func TestCacheFilesDoNotFollowSymlinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	must(t, privateDir(dir))
	victim := filepath.Join(t.TempDir(), "victim")
	must(t, os.WriteFile(victim, []byte("precious"), 0o600))
	untouched := func(what string) {
		t.Helper()
		if b, _ := os.ReadFile(victim); string(b) != "precious" {
			t.Fatalf("%s: written through the symlink: %q", what, b)
		}
	}
	key := plan.SessionKey(plan.StepAssumeRole, "prod", "x")
	base := filepath.Join(dir, lockName(key))

	// The holder file is replaced by rename.
	must(t, os.Symlink(victim, base+".holder"))
	l := &Locks{Dir: dir}
	release, err := l.Acquire(context.Background(), key, "testing")
	must(t, err)
	if fi, _ := os.Lstat(base + ".holder"); fi == nil || !fi.Mode().IsRegular() {
		t.Errorf("holder is %v, want a regular file", fi)
	}
	release()
	untouched("holder")

	// A symlink at the lock itself is an error, not a lock on its target.
	other := plan.SessionKey(plan.StepAssumeRole, "dev", "y")
	must(t, os.Symlink(filepath.Join(t.TempDir(), "created-elsewhere"), filepath.Join(dir, lockName(other)+".lock")))
	if _, err := l.Acquire(context.Background(), other, "testing"); err == nil {
		t.Error("locked through a symlink")
	}

	// Index entries are replaced by rename and not read through symlinks.
	c := &SessionCache{Keyring: nil, IndexDir: dir}
	must(t, privateDir(filepath.Join(dir, "sessions")))
	must(t, os.Symlink(victim, c.indexPath(key)))
	if _, ok, _ := c.Expiry(key); ok {
		t.Error("Expiry read an index entry through a symlink")
	}
	c.writeIndex(key, &Session{Expiration: time.Now().Add(time.Hour)})
	untouched("index")
	if _, ok, err := c.Expiry(key); !ok || err != nil {
		t.Errorf("Expiry after writeIndex: %v %v", ok, err)
	}
}
