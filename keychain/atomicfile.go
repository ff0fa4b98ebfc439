package keychain

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rolevault/rolevault/config"
)

// partialWritePrefix starts the name of every temporary file rolevault
// writes an item into before renaming it over the real one. A crash between
// the two leaves such a file behind; its name is shaped like an expired
// aws-vault session ("type,profile,mfa,expiry"), so aws-vault never lists it
// as a credential and deletes it on its own clean-up, and rolevault skips it
// when listing and removes it once it is old.
const partialWritePrefix = ".rolevault-partial-write,"

// staleTempAge is how old a leftover temporary file must be before a later
// write removes it; a younger one may belong to a writer still running.
const staleTempAge = 15 * time.Minute

// IsPartialWrite reports whether an item or file name is one of rolevault's
// temporary files (see WriteFileAtomic).
func IsPartialWrite(name string) bool { return strings.HasPrefix(name, partialWritePrefix) }

func tempName() (string, error) {
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return partialWritePrefix + base64.RawURLEncoding.EncodeToString(b) + ",,1", nil
}

// WriteFileAtomic replaces dir/name with data so that, whatever happens (a
// full disk, a file-size limit, kill -9, power loss), the file afterwards
// holds either its old content or data, never a part or nothing: the data
// goes to a new temporary file in dir (created exclusively, mode perm, so it
// never follows a planted symlink or reuses another's file), is synced, and
// is then renamed over name, which replaces a symlink rather than writing
// through it; finally dir is synced so the rename survives a crash.
func WriteFileAtomic(dir, name string, data []byte, perm os.FileMode) error {
	tmp, err := tempName()
	if err != nil {
		return err
	}
	tmpPath, final := filepath.Join(dir, tmp), filepath.Join(dir, name)
	f, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, perm)
	if err != nil {
		return fmt.Errorf("writing %s: %w; its previous content is unchanged", final, bareError(err))
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmpPath, final)
	}
	if werr != nil {
		_ = os.Remove(tmpPath)
		return fmt.Errorf("writing %s: %w; its previous content is unchanged", final, bareError(werr))
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%s was replaced, but syncing its directory failed (%w), so a crash now could undo that", final, err)
	}
	return nil
}

// bareError drops the temporary file's name from an error, which would
// only confuse: the message names the file being replaced.
func bareError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// removeStaleTemps deletes temporary files in dir that a writer killed
// between write and rename left behind.
func removeStaleTemps(dir string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !IsPartialWrite(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleTempAge {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// removeFile deletes dir/name and syncs dir, so a removal that returned is
// not undone by a crash.
func removeFile(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// readRegularFile reads path without following a symlink at its last
// component, and refuses anything that is not a regular file (a FIFO would
// block the read forever).
func readRegularFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow|oNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, config.ErrNotRegular)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	b := make([]byte, fi.Size())
	n, err := f.ReadAt(b, 0)
	if err != nil && n != len(b) {
		return nil, err
	}
	return b[:n], nil
}
