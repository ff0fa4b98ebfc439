package keychain

import (
	"github.com/99designs/keyring"
)

// Lazy opens the keyring on first use. A run that fails before it needs a
// secret (bad config, unknown profile) never asks for the file passphrase or
// unlocks a keychain.
type Lazy struct {
	Open   func() (keyring.Keyring, error) // called on every use; it should open once
	OnRead func(key string)                // told of each Get, for --debug's read count
	OnList func()                          // told of each Keys, a scan of the keyring
}

var _ keyring.Keyring = (*Lazy)(nil)

// Get opens the keyring and reads an item, telling OnRead.
func (k *Lazy) Get(key string) (keyring.Item, error) {
	kr, err := k.Open()
	if err != nil {
		return keyring.Item{}, err
	}
	if k.OnRead != nil {
		k.OnRead(key)
	}
	return kr.Get(key)
}

// GetMetadata opens the keyring and reads an item's metadata.
func (k *Lazy) GetMetadata(key string) (keyring.Metadata, error) {
	kr, err := k.Open()
	if err != nil {
		return keyring.Metadata{}, err
	}
	return kr.GetMetadata(key)
}

// Set opens the keyring and stores an item.
func (k *Lazy) Set(item keyring.Item) error {
	kr, err := k.Open()
	if err != nil {
		return err
	}
	return kr.Set(item)
}

// Remove opens the keyring and deletes an item.
func (k *Lazy) Remove(key string) error {
	kr, err := k.Open()
	if err != nil {
		return err
	}
	return kr.Remove(key)
}

// Keys opens the keyring and lists its item names, telling OnList.
func (k *Lazy) Keys() ([]string, error) {
	kr, err := k.Open()
	if err != nil {
		return nil, err
	}
	if k.OnList != nil {
		k.OnList()
	}
	return kr.Keys()
}
