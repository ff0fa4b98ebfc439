package keychain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/config"
)

// SessionCache keeps STS sessions in the keyring under the deterministic names
// from SessionKey, so a cached read is exactly one keyring Get. Beside it, a
// non-secret index in the cache directory records each session's expiry, so
// `explain` and `list` can say whether a session is valid without unlocking
// the keyring.
type SessionCache struct {
	Keyring  keyring.Keyring
	IndexDir string // "" disables the index
	Debugf   func(format string, args ...any)
}

func (c *SessionCache) debugf(format string, args ...any) {
	if c.Debugf != nil {
		c.Debugf(format, args...)
	}
}

// Get returns the cached session for key, or nil when there is none. An item
// that cannot be decoded for any reason (truncated, garbage, another tool's
// format, encrypted with another passphrase) is a miss, so the session is
// fetched again rather than breaking every run: it is removed, except when
// only the passphrase does not fit — then it stays for the new session to
// replace, so a mistyped passphrase costs no cached session. Errors reaching
// the keyring at all (locked, no passphrase) stay errors.
func (c *SessionCache) Get(key string) (*Session, error) {
	item, err := c.Keyring.Get(key)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return nil, nil
	}
	var ue *UndecodableItemError
	if errors.As(err, &ue) && ue.WrongPassphrase {
		c.debugf("cached session %s does not decrypt with this passphrase (%v); fetching a new one to replace it", key, err)
		return nil, nil
	}
	if isUndecodable(err) {
		c.debugf("cached session %s cannot be decoded (%v); removing it and fetching a new one", key, err)
		_ = c.Remove(key)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading cached session %s: %w", key, err)
	}
	var s Session
	if err := json.Unmarshal(item.Data, &s); err != nil || s.AccessKeyID == "" || s.Expiration.IsZero() {
		c.debugf("cached session %s is not a rolevault session; removing it and fetching a new one", key)
		_ = c.Remove(key)
		return nil, nil
	}
	return &s, nil
}

// isUndecodable reports whether a keyring Get error means the item is there
// but its content is not an item: the file backend says so, and the pass
// backend's JSON decoding fails on another program's entry.
func isUndecodable(err error) bool {
	if err == nil {
		return false
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.Is(err, ErrUndecodableItem) || errors.Is(err, config.ErrNotRegular) ||
		errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Put stores s under key and records its expiry in the index.
func (c *SessionCache) Put(key string, s *Session) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	err = c.Keyring.Set(keyring.Item{
		Key:         key,
		Data:        data,
		Label:       fmt.Sprintf("rolevault session (%s)", s.Profile),
		Description: "rolevault session",
		// Sessions are short-lived and must not sync to other devices.
		KeychainNotSynchronizable: true,
	})
	if err != nil {
		return fmt.Errorf("caching session %s: %w", key, err)
	}
	c.writeIndex(key, s)
	return nil
}

// Remove deletes a cached session; a missing one is not an error.
func (c *SessionCache) Remove(key string) error {
	c.removeIndex(key)
	err := c.Keyring.Remove(key)
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) && !os.IsNotExist(err) {
		return fmt.Errorf("removing cached session %s: %w", key, err)
	}
	return nil
}

type indexEntry struct {
	Key        string    `json:"key"`
	Expiration time.Time `json:"expiration"`
}

// notes is the sessions' expiry index, in IndexDir/sessions.
func (c *SessionCache) notes() noteDir {
	return noteDir{dir: sub(c.IndexDir, "sessions"), ext: ".json", debugf: c.debugf}
}

func (c *SessionCache) indexPath(key string) string { return c.notes().path(key) }

func (c *SessionCache) writeIndex(key string, s *Session) {
	c.notes().write(key, indexEntry{Key: key, Expiration: s.Expiration})
}

func (c *SessionCache) removeIndex(key string) { c.notes().remove(key) }

// Expiry reports when the session cached under key expires, from the index
// alone (no keyring access). ok is false when the index has no entry.
func (c *SessionCache) Expiry(key string) (exp time.Time, ok bool, err error) {
	var e indexEntry
	if ok, err := c.notes().read(key, &e); !ok || err != nil || e.Key != key {
		return time.Time{}, false, err
	}
	return e.Expiration, true, nil
}

// Usable reports whether s can be handed out now: it exists and more than
// minTTL of its lifetime remains.
func (s *Session) Usable(now time.Time, minTTL time.Duration) bool {
	return s != nil && s.Expiration.Sub(now) > minTTL
}
