package keychain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/99designs/keyring"
	jose "github.com/dvsekhvalnov/jose2go"
	"github.com/mtibben/percent"
)

// maxFileItem bounds what a file keyring item may be: an access key or a
// session is well under 10 KB, so anything bigger is not an item.
const maxFileItem = 1 << 20

// ErrUndecodableItem matches (errors.Is) the error for an item that is there
// but is not a token this keyring can decrypt and decode: truncated, garbage,
// another program's file, or encrypted with another passphrase.
var ErrUndecodableItem = errors.New("keyring item cannot be decoded")

// UndecodableItemError is a file keyring item that could not be decoded.
// WrongPassphrase is true when the token is well-formed but the passphrase
// does not decrypt it (the same error a mistyped passphrase gives).
type UndecodableItemError struct {
	Key             string
	WrongPassphrase bool
	Err             error
}

func (e *UndecodableItemError) Error() string { return e.Err.Error() }
func (e *UndecodableItemError) Unwrap() error { return e.Err }

// Is makes the error match ErrUndecodableItem.
func (e *UndecodableItemError) Is(target error) bool { return target == ErrUndecodableItem }

// FileKeyring is the encrypted-file backend in exactly the on-disk format of
// the keyring library's (and so aws-vault's) "file" backend: one file per
// item, named by the percent-encoded key, holding a JWE compact token
// (PBES2-HS256+A128KW, A256GCM) of the item's JSON, encrypted with the
// passphrase. Files written by either tool are read by the other.
//
// It differs in how it writes: the library truncates the item's file and then
// writes it, so a full disk or a kill in between leaves the key empty. Set
// writes a new file and renames it over the old one (WriteFileAtomic), so an
// item always holds its old or its new value.
type FileKeyring struct {
	Dir          string
	PasswordFunc keyring.PromptFunc
	Now          func() time.Time // for tests; nil means time.Now

	mu       sync.Mutex
	password string
}

var _ keyring.Keyring = (*FileKeyring)(nil)

func fileItemName(key string) string { return percent.Encode(key, "/") }

func (k *FileKeyring) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *FileKeyring) dir() (string, error) {
	if k.Dir == "" {
		return "", errors.New("no directory for the file keyring")
	}
	return keyring.ExpandTilde(k.Dir)
}

// unlock asks for the passphrase once per keyring, as the library does.
func (k *FileKeyring) unlock(dir string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.password == "" {
		if k.PasswordFunc == nil {
			return "", errors.New("the file keyring has no passphrase function")
		}
		pw, err := k.PasswordFunc(fmt.Sprintf("Enter passphrase to unlock %q", dir))
		if err != nil {
			return "", err
		}
		k.password = pw
	}
	return k.password, nil
}

// Get reads and decrypts one item. A missing file is keyring.ErrKeyNotFound,
// found before any passphrase is asked for.
func (k *FileKeyring) Get(key string) (keyring.Item, error) {
	dir, err := k.dir()
	if err != nil {
		return keyring.Item{}, err
	}
	b, err := readRegularFile(filepath.Join(dir, fileItemName(key)), maxFileItem)
	if errors.Is(err, fs.ErrNotExist) {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	if err != nil {
		return keyring.Item{}, err
	}
	pw, err := k.unlock(dir)
	if err != nil {
		return keyring.Item{}, err
	}
	payload, _, err := jose.Decode(string(b), pw)
	if err != nil {
		return keyring.Item{}, &UndecodableItemError{Key: key, Err: err,
			WrongPassphrase: strings.Contains(err.Error(), "integrity check failed")}
	}
	var item keyring.Item
	if err := json.Unmarshal([]byte(payload), &item); err != nil {
		return keyring.Item{}, &UndecodableItemError{Key: key, Err: fmt.Errorf("decrypted, but not a keyring item: %w", err)}
	}
	return item, nil
}

// GetMetadata reports only the modification time: everything else is
// encrypted.
func (k *FileKeyring) GetMetadata(key string) (keyring.Metadata, error) {
	dir, err := k.dir()
	if err != nil {
		return keyring.Metadata{}, err
	}
	fi, err := os.Lstat(filepath.Join(dir, fileItemName(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return keyring.Metadata{}, keyring.ErrKeyNotFound
	}
	if err != nil {
		return keyring.Metadata{}, err
	}
	return keyring.Metadata{ModificationTime: fi.ModTime()}, nil
}

// Set encrypts the item and replaces its file atomically, mode 0600.
func (k *FileKeyring) Set(item keyring.Item) error {
	dir, err := k.dir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(item)
	if err != nil {
		return err
	}
	pw, err := k.unlock(dir)
	if err != nil {
		return err
	}
	token, err := jose.Encrypt(string(data), jose.PBES2_HS256_A128KW, jose.A256GCM, pw,
		jose.Headers(map[string]any{"created": k.now().String()}))
	if err != nil {
		return err
	}
	removeStaleTemps(dir, k.now())
	return WriteFileAtomic(dir, fileItemName(item.Key), []byte(token), 0o600)
}

// Remove deletes an item's file; a missing one is an fs.ErrNotExist error,
// as with the library.
func (k *FileKeyring) Remove(key string) error {
	dir, err := k.dir()
	if err != nil {
		return err
	}
	return removeFile(dir, fileItemName(key))
}

// Keys lists the items, skipping temporary files of writes in progress or
// interrupted.
func (k *FileKeyring) Keys() ([]string, error) {
	dir, err := k.dir()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	keys := []string{}
	for _, e := range entries {
		if IsPartialWrite(e.Name()) {
			continue
		}
		keys = append(keys, percent.Decode(e.Name()))
	}
	return keys, nil
}
