// Errors across the socket: what a backend's error meant (not found, cannot be decoded, wrong passphrase, locked) travels with its text and hint, so a client sees exactly what the direct path would show.

package agent

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/keychain"
)

// Error kinds. Only the meanings callers branch on are kinds; the text and
// the hint are carried as they are.
const (
	KindNotFound        = "not-found"        // keyring.ErrKeyNotFound
	KindNotExist        = "not-exist"        // a file that is not there (os.IsNotExist)
	KindUndecodable     = "undecodable"      // *keychain.UndecodableItemError
	KindWrongPassphrase = "wrong-passphrase" // keychain.ErrWrongFilePassphrase
	KindKeyringLocked   = "keyring-locked"   // keychain.ErrKeyringLocked
	KindAgentLocked     = "agent-locked"     // the agent forgot the file passphrase: unlock it
	KindVersion         = "version"          // hello of another protocol version
	KindRefused         = "refused"          // not this user, or not this protocol
	KindOther           = ""
)

// WireError is an error as it crosses the socket.
type WireError struct {
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// KindUndecodable: the item and whether only the passphrase is wrong.
	Key             string `json:"key,omitempty"`
	WrongPassphrase bool   `json:"wrong_passphrase,omitempty"`
	// KindNotExist: the operation and path of the *fs.PathError.
	Op   string `json:"op,omitempty"`
	Path string `json:"path,omitempty"`
}

// wireError encodes err for the socket.
func wireError(err error) *WireError {
	if err == nil {
		return nil
	}
	w := &WireError{Message: err.Error()}
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		w.Hint = h.Hint()
	}
	var ue *keychain.UndecodableItemError
	var pe *fs.PathError
	switch {
	case errors.Is(err, errAgentLocked):
		w.Kind = KindAgentLocked
	case errors.Is(err, keyring.ErrKeyNotFound):
		w.Kind = KindNotFound
	case errors.As(err, &ue):
		w.Kind, w.Key, w.WrongPassphrase = KindUndecodable, ue.Key, ue.WrongPassphrase
	case errors.Is(err, keychain.ErrWrongFilePassphrase):
		w.Kind = KindWrongPassphrase
	case errors.Is(err, keychain.ErrKeyringLocked):
		w.Kind = KindKeyringLocked
	case os.IsNotExist(err) && errors.As(err, &pe):
		w.Kind, w.Op, w.Path = KindNotExist, pe.Op, pe.Path
	}
	return w
}

// err turns a WireError back into an error that matches what the original
// matched (errors.Is, errors.As, os.IsNotExist) and prints the same.
func (w *WireError) err() error {
	if w == nil {
		return nil
	}
	switch w.Kind {
	case KindNotFound:
		if w.Message == keyring.ErrKeyNotFound.Error() {
			return keyring.ErrKeyNotFound
		}
	case KindNotExist:
		return &fs.PathError{Op: w.Op, Path: w.Path, Err: syscall.ENOENT}
	case KindUndecodable:
		return &keychain.UndecodableItemError{Key: w.Key, WrongPassphrase: w.WrongPassphrase, Err: &RemoteError{w: *w}}
	}
	return &RemoteError{w: *w}
}

// RemoteError is an error the agent reported.
type RemoteError struct{ w WireError }

func (e *RemoteError) Error() string { return e.w.Message }

// Hint is the line saying what to do, as the backend's own error gave it.
func (e *RemoteError) Hint() string { return e.w.Hint }

// Kind is what the error meant (one of the Kind constants).
func (e *RemoteError) Kind() string { return e.w.Kind }

// Is matches the sentinel errors the kinds stand for.
func (e *RemoteError) Is(target error) bool {
	switch e.w.Kind {
	case KindNotFound:
		return target == keyring.ErrKeyNotFound
	case KindWrongPassphrase:
		return target == keychain.ErrWrongFilePassphrase
	case KindKeyringLocked:
		return target == keychain.ErrKeyringLocked
	}
	return false
}
