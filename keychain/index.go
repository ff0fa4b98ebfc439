package keychain

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// noteDir is a directory of small non-secret JSON notes, one per keyring
// item, in the private cache directory: what list and explain read instead
// of the secret (a session's or a sign-in's expiry), and what a failed
// sign-in leaves for the processes that waited for it. Notes are best
// effort: one that cannot be written only costs a keyring read later, and a
// note that does not parse is no note.
type noteDir struct {
	dir    string // "" disables the notes
	ext    string // file name extension, ".json"
	debugf func(format string, args ...any)
}

func (n noteDir) path(key string) string { return filepath.Join(n.dir, lockName(key)+n.ext) }

// write replaces key's note with v's JSON, atomically.
func (n noteDir) write(key string, v any) {
	if n.dir == "" {
		return
	}
	if err := privateDir(n.dir); err != nil {
		n.say("%s: %v", n.dir, err)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	removeStaleTemps(n.dir, time.Now())
	if err := WriteFileAtomic(n.dir, filepath.Base(n.path(key)), b, 0o600); err != nil {
		n.say("%s: %v", n.dir, err)
	}
}

// read decodes key's note into v; false when there is none (or it does not
// parse). Only an unreadable note is an error.
func (n noteDir) read(key string, v any) (bool, error) {
	if n.dir == "" {
		return false, nil
	}
	b, err := readRegularFile(n.path(key), 4096)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return json.Unmarshal(b, v) == nil, nil
}

func (n noteDir) remove(key string) {
	if n.dir != "" {
		_ = os.Remove(n.path(key))
	}
}

func (n noteDir) say(format string, args ...any) {
	if n.debugf != nil {
		n.debugf("index "+format, args...)
	}
}

// sub is the notes directory name under a cache directory, "" when there is
// no cache directory.
func sub(cacheDir, name string) string {
	if cacheDir == "" {
		return ""
	}
	return filepath.Join(cacheDir, name)
}
