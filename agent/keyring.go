// Keyring: the keyring.Keyring a run uses in place of opening the backend, so KeyStore and SessionCache run the same code through either door.

package agent

import (
	"errors"
	"sync"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/keychain"
)

// Keyring serves item operations through the agent. When the agent goes
// away mid-run it opens the keyring directly (Direct) and carries on there,
// so the run ends with the result it would have had without the agent.
type Keyring struct {
	Client *Client
	// Passphrase asks for the file passphrase as a direct run would (the
	// variable, else the terminal), when the agent is locked. It is asked
	// at most once per run, as the direct path asks at most once.
	Passphrase func() (pw string, fromEnv bool, err error)
	// Direct opens the keyring without the agent.
	Direct func() (keyring.Keyring, error)
	Debugf func(format string, args ...any)

	mu      sync.Mutex
	direct  keyring.Keyring
	asked   bool
	pw      string
	fromEnv bool
	pwErr   error
}

var _ keyring.Keyring = (*Keyring)(nil)

func (k *Keyring) debugf(format string, args ...any) {
	if k.Debugf != nil {
		k.Debugf(format, args...)
	}
}

// do sends req, unlocking a locked agent once, and reports whether the
// agent answered at all (false: use the direct keyring).
func (k *Keyring) do(req Request) (Response, bool, error) {
	k.mu.Lock()
	gone := k.direct != nil
	k.mu.Unlock()
	if gone {
		return Response{}, false, nil
	}
	resp, err := k.Client.Do(req)
	var re *RemoteError
	if errors.As(err, &re) && re.Kind() == KindAgentLocked && k.Passphrase != nil {
		if uerr := k.unlock(); uerr != nil {
			var te *TransportError
			if errors.As(uerr, &te) {
				return k.lost(uerr)
			}
			return Response{}, true, uerr
		}
		resp, err = k.Client.Do(req)
	}
	var te *TransportError
	if errors.As(err, &te) {
		return k.lost(err)
	}
	return resp, true, err
}

func (k *Keyring) lost(err error) (Response, bool, error) {
	k.debugf("agent: %v; using the keyring directly", err)
	return Response{}, false, nil
}

// unlock hands the agent the passphrase, asked once per run.
func (k *Keyring) unlock() error {
	k.mu.Lock()
	if !k.asked {
		k.asked = true
		k.debugf("agent: locked; asking for the file keyring's passphrase to unlock it")
		k.pw, k.fromEnv, k.pwErr = k.Passphrase()
	}
	pw, fromEnv, err := k.pw, k.fromEnv, k.pwErr
	k.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = k.Client.Do(Request{Op: OpUnlock, Passphrase: pw, FromEnv: fromEnv})
	return err
}

// directKeyring opens the keyring without the agent, once.
func (k *Keyring) directKeyring() (keyring.Keyring, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.direct == nil {
		kr, err := k.Direct()
		if err != nil {
			return nil, err
		}
		k.direct = kr
	}
	return k.direct, nil
}

// Get reads an item.
func (k *Keyring) Get(key string) (keyring.Item, error) {
	resp, ok, err := k.do(Request{Op: OpGet, Key: key})
	if !ok {
		kr, derr := k.directKeyring()
		if derr != nil {
			return keyring.Item{}, derr
		}
		return kr.Get(key)
	}
	if err != nil {
		return keyring.Item{}, err
	}
	if resp.Item == nil {
		return keyring.Item{}, errors.New("the agent answered get without an item")
	}
	return *resp.Item, nil
}

// GetMetadata is not served by the agent (rolevault never asks for it).
func (k *Keyring) GetMetadata(key string) (keyring.Metadata, error) {
	kr, err := k.directKeyring()
	if err != nil {
		return keyring.Metadata{}, err
	}
	return kr.GetMetadata(key)
}

// Set stores an item; the agent writes it to the backend before it answers.
func (k *Keyring) Set(item keyring.Item) error {
	_, ok, err := k.do(Request{Op: OpSet, Item: &item})
	if !ok {
		kr, derr := k.directKeyring()
		if derr != nil {
			return derr
		}
		return kr.Set(item)
	}
	return err
}

// Remove deletes an item from the backend.
func (k *Keyring) Remove(key string) error {
	_, ok, err := k.do(Request{Op: OpRemove, Key: key})
	if !ok {
		kr, derr := k.directKeyring()
		if derr != nil {
			return derr
		}
		return kr.Remove(key)
	}
	return err
}

// Keys lists the item names.
func (k *Keyring) Keys() ([]string, error) {
	resp, ok, err := k.do(Request{Op: OpKeys})
	if !ok {
		kr, derr := k.directKeyring()
		if derr != nil {
			return nil, derr
		}
		return kr.Keys()
	}
	return resp.Keys, err
}

// UnlockForWrite does what keychain.UnlockForWrite does for a backend opened
// directly: list the items and, for a locked file keyring, ask for the
// passphrase now (before add asks for the secret) and prove it on an item.
func (k *Keyring) UnlockForWrite() error {
	names, err := k.Keys()
	if err != nil {
		return err
	}
	resp, ok, err := k.do(Request{Op: OpStatus})
	if !ok {
		kr, derr := k.directKeyring()
		if derr != nil {
			return derr
		}
		return keychain.UnlockForWrite(&keychain.KeyStore{Keyring: kr})
	}
	if err != nil {
		return err
	}
	if resp.Status == nil || !resp.Status.Locked || resp.Status.Backend != string(keyring.FileBackend) {
		return nil
	}
	if err := k.unlock(); err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	_, err = k.Get(names[0])
	return err
}
