// What the agent needs from an opened keyring: a cheap stamp of an item's stored form, the place a backend keeps its items, and the file passphrase asked as the direct path asks it.

package keychain

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/99designs/keyring"
)

// ItemVersion stamps the stored form of key in kr without decrypting it: the
// size and modification time of its file for the file and pass backends
// ("absent" when there is none). Every write replaces the file by rename, so
// a stamp changes whenever another process (or aws-vault) changes the item.
// ok is false for backends that cannot say cheaply; a copy of their items in
// memory could not be checked and must not be kept.
func ItemVersion(kr keyring.Keyring, key string) (stamp string, ok bool) {
	var path string
	switch k := kr.(type) {
	case *checkedKeyring:
		return ItemVersion(k.Keyring, key)
	case *FileKeyring:
		dir, err := k.dir()
		if err != nil {
			return "", false
		}
		path = filepath.Join(dir, fileItemName(key))
	case *PassKeyring:
		if k.Dir == "" {
			return "", false
		}
		path = filepath.Join(k.Dir, filepath.FromSlash(k.name(key))+".gpg")
	default:
		return "", false
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "absent", true
	}
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano()), true
}

// Place names where backend b keeps its items under these options (the
// directory, store, collection or keychain), so two processes can tell
// whether they mean the same keyring.
func (o Options) Place(b keyring.BackendType) (string, error) {
	switch b {
	case keyring.FileBackend:
		dir, err := ExpandHome(o.FileDir)
		if err != nil {
			return "", err
		}
		return filepath.Clean(dir), nil
	case keyring.PassBackend:
		cfg, err := o.keyringConfig()
		if err != nil {
			return "", err
		}
		dir, _ := passStoreInitialised(cfg)
		return fmt.Sprintf("%s prefix %q cmd %q", filepath.Clean(dir), o.PassPrefix, passCmd(cfg)), nil
	case keyring.SecretServiceBackend:
		return "collection " + o.SecretServiceCollection, nil
	case keyring.KeychainBackend:
		return "keychain " + o.KeychainName, nil
	case keyring.KeyCtlBackend:
		cfg, err := o.keyringConfig()
		if err != nil {
			return "", err
		}
		return "scope " + cfg.KeyCtlScope, nil
	}
	return string(b), nil
}

// FilePassphrase asks for the file keyring's passphrase exactly as opening
// it would: AWS_VAULT_FILE_PASSPHRASE, else the terminal (twice for a new
// keyring). fromEnv says which, so a wrong one is explained the same way.
func (o Options) FilePassphrase() (pw string, fromEnv bool, err error) {
	dir, err := ExpandHome(o.FileDir)
	if err != nil {
		return "", false, err
	}
	_, fromEnv = o.lookupEnv("AWS_VAULT_FILE_PASSPHRASE")
	pw, err = o.filePassphrase(dir)("")
	return pw, fromEnv, err
}
