package keychain

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CacheDirError is a cache directory rolevault will not use, because another
// user could plant or read files in it. Error is one line; Hint says what to do.
type CacheDirError struct {
	Dir      string
	Problem  string // "is owned by uid 0", "is writable by other users (mode 1777)"
	HintLine string
}

func (e *CacheDirError) Error() string {
	return fmt.Sprintf("cache directory %s %s, so another user could tamper with rolevault's lock and session index files", e.Dir, e.Problem)
}

// Hint is the second line the CLI prints.
func (e *CacheDirError) Hint() string { return e.HintLine }

// privateDir makes sure dir exists and is private to this user. Directories
// it has to create, it creates with mode 0700; a directory that was already
// there is never chmod-ed (it may be a shared one like /tmp), and is refused
// when it belongs to another user or others can write to it.
func privateDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := mkdirPrivate(dir); err != nil {
			return err
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &CacheDirError{Dir: dir, Problem: "is not a directory", HintLine: cacheDirHint(dir)}
	}
	if problem := unsafeDir(fi); problem != "" {
		return &CacheDirError{Dir: dir, Problem: problem, HintLine: cacheDirHint(dir)}
	}
	return nil
}

func cacheDirHint(dir string) string {
	if v, ok := os.LookupEnv("ROLEVAULT_CACHE_DIR"); ok && v != "" {
		return "Point ROLEVAULT_CACHE_DIR at a directory of your own that only you can write (e.g. mkdir -m 700 ~/.cache/rolevault), or unset it."
	}
	return fmt.Sprintf("Make it yours and private (chmod 700 %s, owned by you), or set ROLEVAULT_CACHE_DIR to such a directory.", dir)
}

// mkdirPrivate creates dir and any missing parents, each with mode 0700, one
// at a time, so only directories this call created get a mode set: a parent
// someone else creates at the same moment is left to the checks.
func mkdirPrivate(dir string) error {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if parent != dir {
		if _, err := os.Stat(parent); errors.Is(err, fs.ErrNotExist) {
			if err := mkdirPrivate(parent); err != nil {
				return err
			}
		}
	}
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The umask may have taken bits away; set exactly 0700 on what we made.
	return os.Chmod(dir, 0o700)
}

// DefaultCacheDir is where rolevault keeps lock files and the non-secret
// session index: the user's cache directory, which must be private to the
// user (see privateDir).
func DefaultCacheDir() (string, error) {
	if d, ok := os.LookupEnv("ROLEVAULT_CACHE_DIR"); ok && d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory: %w", err)
	}
	return filepath.Join(base, "rolevault"), nil
}
