package cli

import (
	"errors"
	"fmt"
	"sync"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/agent"
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
	agent   *agent.Client // the agent that serves kr, nil for the direct door
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
		if kr, c := g.agentKeyring(); kr != nil {
			o.kr, o.backend, o.agent = kr, keyring.BackendType(c.Status.Backend), c
			g.keyringDebugf("keyring backend: %s, served by the agent at %s (pid %d)", o.backend, c.Path, c.Status.PID)
			return
		}
		o.kr, o.backend, o.err = keychain.Open(g.keychainOptions())
		if o.err == nil {
			g.keyringDebugf("keyring backend: %s", o.backend)
		}
	})
	return o.kr, o.err
}

// agentKeyring is the keyring through the agent, when one answers for this
// user and holds the backend this run's flags select; nil means the direct
// door (--debug says why).
func (g *Globals) agentKeyring() (*agent.Keyring, *agent.Client) {
	if !agent.Supported {
		return nil, nil
	}
	if v, _ := lookupEnv(agent.SwitchEnv); v == "off" {
		g.keyringDebugf("agent: not used (%s=off)", agent.SwitchEnv)
		return nil, nil
	}
	path, err := agent.SocketPath(lookupEnv)
	if err != nil {
		g.keyringDebugf("agent: not used: %v", err)
		return nil, nil
	}
	c, err := agent.Dial(path)
	if err != nil {
		g.keyringDebugf("agent: not used: %v", err)
		return nil, nil
	}
	opts := g.keychainOptions()
	st := c.Status
	want := g.Backend
	if want == "" {
		want = "the first that works"
	}
	if (g.Backend != "" && g.Backend != st.Backend) || (g.Backend == "" && st.Requested != "") {
		g.keyringDebugf("agent: not used: it holds backend %s, this run asks for %s", st.Backend, want)
		c.Close()
		return nil, nil
	}
	if place, err := opts.Place(keyring.BackendType(st.Backend)); err != nil || place != st.Place {
		g.keyringDebugf("agent: not used: it holds %s keyring %s, this run's is %s", st.Backend, st.Place, place)
		c.Close()
		return nil, nil
	}
	return &agent.Keyring{
		Client:     c,
		Passphrase: opts.FilePassphrase,
		Direct: func() (keyring.Keyring, error) {
			kr, b, err := keychain.Open(g.keychainOptions())
			if err == nil {
				g.keyringDebugf("keyring backend: %s (opened directly: the agent went away)", b)
			}
			return kr, err
		},
		Debugf: g.keyringDebugf,
	}, c
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
