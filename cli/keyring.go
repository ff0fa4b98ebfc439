package cli

import (
	"errors"
	"fmt"
	"sync"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/prompt"
)

// openedKeyring is the keyring of one CLI invocation: opened on first use and
// then shared, so the file passphrase or an unlock prompt comes once per run.
type openedKeyring struct {
	once    sync.Once
	kr      keyring.Keyring
	backend keyring.BackendType
	err     error
}

// keychainOptions are the global flags and variables that choose a backend.
func (g *Globals) keychainOptions() keychain.Options {
	return keychain.Options{
		Backend: g.Backend, KeychainName: g.Keychain, SecretServiceCollection: g.SecretServiceCollection,
		PassDir: g.PassDir, PassCmd: g.PassCmd, PassPrefix: g.PassPrefix, FileDir: g.FileDir,
		LookupEnv:  lookupEnv,
		ReadSecret: readSecret,
		Debug:      g.Debug,
		Debugf:     g.keyringDebugf,
	}
}

// readSecret asks on the terminal device with echo off.
func readSecret(what, msg string) (string, error) {
	s, err := prompt.ReadSecretFor(what, msg)
	if errors.Is(err, prompt.ErrNoTerminal) {
		err = fmt.Errorf("%w: %w", keychain.ErrNoTerminal, err)
	}
	return s, err
}

// Keyring opens the keyring the global flags select, once per invocation.
func (g *Globals) Keyring() (keyring.Keyring, error) {
	o := &g.keyring
	o.once.Do(func() {
		o.kr, o.backend, o.err = keychain.Open(g.keychainOptions())
		if o.err == nil {
			g.keyringDebugf("keyring backend: %s", o.backend)
		}
	})
	return o.kr, o.err
}

// KeyringBackend names the backend Keyring opened ("" before it did).
func (g *Globals) KeyringBackend() keyring.BackendType { return g.keyring.backend }

// KeyStore returns the stored long-term keys, in the keyring Keyring opens.
func (g *Globals) KeyStore() (*keychain.KeyStore, error) {
	kr, err := g.Keyring()
	if err != nil {
		return nil, err
	}
	ks := &keychain.KeyStore{Keyring: kr}
	if dir, err := keychain.DefaultCacheDir(); err == nil {
		ks.SessionIndexDir = dir
	}
	return ks, nil
}

// lazyKeyring opens the keyring on first use and counts its reads.
func (g *Globals) lazyKeyring() *keychain.Lazy {
	return &keychain.Lazy{
		Open:   g.Keyring,
		OnRead: g.countRead,
		OnList: func() { g.debugf("keyring: listing every item") },
	}
}

func (g *Globals) keyringDebugf(format string, args ...any) {
	if g.Debug && g.streams.Err != nil {
		fmt.Fprintf(g.streams.Err, "rolevault: "+format+"\n", args...)
	}
}

// lazyKeyStore reads stored long-term keys through the lazily opened keyring.
type lazyKeyStore struct{ g *Globals }

func (s *lazyKeyStore) Get(profile string) (aws.Credentials, error) {
	ks, err := s.g.KeyStore()
	if err != nil {
		return aws.Credentials{}, err
	}
	s.g.countRead(profile)
	c, err := ks.Get(profile)
	return c, s.g.notStoredError(err)
}

// countRead records a keyring read for --debug, which is how `make bench`
// shows the warm path reads exactly the items it needs.
func (g *Globals) countRead(key string) {
	g.keyringReads++
	g.debugf("keyring read %d: %s", g.keyringReads, key)
}

// hintedError is an error with the second line the CLI prints under it.
type hintedError struct {
	msg, hint string
	err       error // cause, for errors.Is
}

func (e *hintedError) Error() string { return e.msg }
func (e *hintedError) Hint() string  { return e.hint }
func (e *hintedError) Unwrap() error { return e.err }
