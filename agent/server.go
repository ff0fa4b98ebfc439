// The agent: the opened keyring and the items it read or wrote, served over the socket until it ends; forgetting both when its lifetime or idle time runs out.

package agent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/keychain"
)

// Default lifetime and idle time, as gpg-agent counts them: after Lifetime
// since it was unlocked, or Idle with no request, the agent forgets every
// secret and keeps running; the next request unlocks it again.
const (
	DefaultLifetime = 8 * time.Hour
	DefaultIdle     = time.Hour
)

// Config is what an agent is started with.
type Config struct {
	// Options choose the backend exactly as a direct run's do. Their
	// ReadSecret and the passphrase variable are the agent's own: it never
	// prompts, it answers with the passphrase it was handed.
	Options  keychain.Options
	Lifetime time.Duration // zero means DefaultLifetime
	Idle     time.Duration // zero means DefaultIdle
	// Passphrase is the file passphrase the starting terminal was asked for
	// (FromEnv: it came from AWS_VAULT_FILE_PASSPHRASE); "" for other backends.
	Passphrase string
	FromEnv    bool
	Logf       func(format string, args ...any) // nil: no log
	Now        func() time.Time
}

// errAgentLocked is what the file backend's passphrase function answers
// while the agent holds no passphrase; the client unlocks it and asks again.
var errAgentLocked = errors.New("the rolevault agent is locked: it holds no passphrase for the file keyring")

// Server is a running agent.
type Server struct {
	cfg       Config
	uid       int
	requested string // the backend asked for at start ("" for the first that works)

	mu         sync.Mutex
	backend    keyring.BackendType
	place      string
	kr         keyring.Keyring // nil until opened, and after forgetting
	gen        int             // bumped whenever secrets are forgotten
	pass       string
	fromEnv    bool
	verified   bool // the passphrase decrypted an item
	items      map[string]heldItem
	unlockedAt time.Time
	lastReq    time.Time
	unlocked   bool

	ln       *net.UnixListener
	stopOnce sync.Once
	done     chan struct{}
}

type heldItem struct {
	stamp string
	item  keyring.Item
}

// NewServer opens the backend cfg names (for the file backend with the
// passphrase given) and returns the agent, not yet serving.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	s := &Server{cfg: cfg, uid: os.Getuid(), requested: cfg.Options.Backend, done: make(chan struct{})}
	s.pass, s.fromEnv, s.verified = cfg.Passphrase, cfg.FromEnv, cfg.Passphrase != ""
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.openLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// options are the start options with the passphrase answered from memory.
func (s *Server) options() keychain.Options {
	o := s.cfg.Options
	if s.backend != "" {
		o.Backend = string(s.backend) // reopen what was opened, never probe again
	}
	env := o.LookupEnv
	if env == nil {
		env = os.LookupEnv
	}
	pass, fromEnv := s.pass, s.fromEnv
	o.LookupEnv = func(k string) (string, bool) {
		if k == "AWS_VAULT_FILE_PASSPHRASE" {
			if fromEnv && pass != "" {
				return pass, true
			}
			return "", false
		}
		return env(k)
	}
	o.ReadSecret = func(string, string) (string, error) {
		if pass == "" {
			return "", errAgentLocked
		}
		return pass, nil
	}
	o.Debugf = nil
	return o
}

// openLocked opens the backend unless it is open. s.mu is held.
func (s *Server) openLocked() (keyring.Keyring, error) {
	if s.kr != nil {
		return s.kr, nil
	}
	o := s.options()
	kr, b, err := keychain.Open(o)
	if err != nil {
		return nil, err
	}
	place, err := o.Place(b)
	if err != nil {
		return nil, err
	}
	s.kr, s.backend, s.place = kr, b, place
	if s.items == nil {
		s.items = map[string]heldItem{}
	}
	if !s.lockedLocked() && !s.unlocked {
		s.unlocked, s.unlockedAt, s.lastReq = true, s.now(), s.now()
	}
	s.logf("opened keyring backend %s (%s)", b, place)
	return kr, nil
}

// lockedLocked: the agent holds no secret it could serve without help.
func (s *Server) lockedLocked() bool {
	if s.backend == keyring.FileBackend {
		return s.pass == ""
	}
	return s.kr == nil
}

// forgetLocked drops every secret: the passphrase, the opened keyring (and
// whatever the backend cached in it) and the items held.
func (s *Server) forgetLocked(why string) {
	s.pass, s.fromEnv, s.verified = "", false, false
	s.kr = nil
	s.items = map[string]heldItem{}
	s.gen++
	s.unlocked = false
	s.logf("forgot every secret: %s", why)
}

// Lock forgets every secret; the agent keeps running.
func (s *Server) Lock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetLocked("agent lock")
}

// expire forgets the secrets when the lifetime or the idle time ran out.
func (s *Server) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.unlocked {
		return
	}
	now := s.now()
	switch {
	case now.Sub(s.unlockedAt) >= s.cfg.Lifetime:
		s.forgetLocked(fmt.Sprintf("its lifetime (%s) ran out", s.cfg.Lifetime))
	case now.Sub(s.lastReq) >= s.cfg.Idle:
		s.forgetLocked(fmt.Sprintf("no request for %s", s.cfg.Idle))
	}
}

// Status reports the agent's state; it names no secret and no item.
func (s *Server) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{PID: os.Getpid(), Locked: s.lockedLocked() || !s.unlocked, Requested: s.requested,
		Backend: string(s.backend), Place: s.place, Items: len(s.items)}
	if !st.Locked {
		now := s.now()
		st.LifetimeLeft = int(max(0, s.cfg.Lifetime-now.Sub(s.unlockedAt)).Seconds())
		st.IdleLeft = int(max(0, s.cfg.Idle-now.Sub(s.lastReq)).Seconds())
	}
	return st
}

// touch records a request for the idle count.
func (s *Server) touch() {
	s.mu.Lock()
	s.lastReq = s.now()
	s.mu.Unlock()
}

// get serves an item from memory when its stored form has not changed since
// it was read, else from the backend.
func (s *Server) get(key string) (keyring.Item, error) {
	s.mu.Lock()
	kr, err := s.openLocked()
	if err != nil {
		s.mu.Unlock()
		return keyring.Item{}, err
	}
	gen := s.gen
	stamp, versioned := keychain.ItemVersion(kr, key)
	if versioned {
		if stamp == "absent" {
			delete(s.items, key)
			s.mu.Unlock()
			return keyring.Item{}, keyring.ErrKeyNotFound
		}
		if h, ok := s.items[key]; ok && h.stamp == stamp && !s.lockedLocked() {
			s.mu.Unlock()
			return h.item, nil
		}
	}
	s.mu.Unlock()

	item, err := kr.Get(key)

	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen {
		return item, err
	}
	switch {
	case err == nil:
		s.verified = true
		if versioned {
			s.items[key] = heldItem{stamp: stamp, item: item}
		}
	case errors.Is(err, keychain.ErrWrongFilePassphrase) && !s.verified:
		// A passphrase a client handed in that decrypts nothing: forget
		// it, so the next run asks again, as the direct path would.
		s.forgetLocked("the passphrase a client gave does not decrypt the keyring")
	}
	return item, err
}

func (s *Server) set(item keyring.Item) error {
	s.mu.Lock()
	kr, err := s.openLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	err = kr.Set(item)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Not kept from here: another process may replace the file between the
	// write and a stat, and the copy would then pass for theirs. The next
	// get reads it back once, stamped before the read.
	delete(s.items, item.Key)
	return err
}

func (s *Server) remove(key string) error {
	s.mu.Lock()
	kr, err := s.openLocked()
	if err == nil {
		delete(s.items, key)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return kr.Remove(key)
}

func (s *Server) keys() ([]string, error) {
	s.mu.Lock()
	kr, err := s.openLocked()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return kr.Keys()
}

// unlock takes the file passphrase a client asked its person for. It is
// checked the way the direct path checks it, by the first item it decrypts.
func (s *Server) unlock(pass string, fromEnv bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backend != keyring.FileBackend {
		_, err := s.openLocked()
		return err
	}
	if pass == "" {
		return errors.New("unlock: no passphrase given")
	}
	if s.pass == pass {
		return nil
	}
	s.forgetLocked("a client unlocks it")
	s.pass, s.fromEnv = pass, fromEnv
	_, err := s.openLocked()
	return err
}

// Serve answers connections on ln until Stop. The socket file is removed
// when it returns.
func (s *Server) Serve(ln *net.UnixListener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go s.watch()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			select {
			case <-s.done:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go s.serveConn(c)
	}
}

// Stop ends Serve; the socket goes with the listener.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		if s.ln != nil {
			s.ln.Close()
		}
		s.forgetLocked("stopping")
		s.mu.Unlock()
	})
}

// Done is closed when the agent stops.
func (s *Server) Done() <-chan struct{} { return s.done }

// watch forgets the secrets when the lifetime or idle time runs out.
func (s *Server) watch() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.expire()
		}
	}
}

// serveConn checks who is calling, then answers its requests in order.
func (s *Server) serveConn(c *net.UnixConn) {
	defer c.Close()
	uid, err := peerUID(c)
	if err != nil || uid != s.uid {
		s.logf("refused a connection from uid %d: %v", uid, err)
		_ = WriteFrame(c, Response{Error: &WireError{Kind: KindRefused,
			Message: fmt.Sprintf("refused: the rolevault agent serves only uid %d", s.uid)}})
		return
	}
	var hello Request
	if err := ReadFrame(c, &hello); err != nil {
		s.logf("closing a connection: %v", err)
		return
	}
	if hello.Op != OpHello || hello.Protocol != Protocol {
		s.logf("closing a connection: it did not start with a %s hello", Protocol)
		_ = WriteFrame(c, Response{Error: &WireError{Kind: KindRefused, Message: "refused: the first frame must be a " + Protocol + " hello"}})
		return
	}
	st := s.Status()
	resp := Response{Protocol: Protocol, Version: Version, Status: &st}
	if hello.Version != Version {
		resp.Error = &WireError{Kind: KindVersion, Message: fmt.Sprintf("the agent speaks version %d, the client %d", Version, hello.Version)}
		_ = WriteFrame(c, resp)
		return
	}
	if WriteFrame(c, resp) != nil {
		return
	}
	for {
		var req Request
		if err := ReadFrame(c, &req); err != nil {
			if !errors.Is(err, io.EOF) {
				s.logf("closing a connection: %v", err)
			}
			return
		}
		resp := s.handle(req)
		if err := WriteFrame(c, resp); err != nil {
			return
		}
		if req.Op == OpStop {
			s.Stop()
			return
		}
	}
}

func (s *Server) handle(req Request) Response {
	if req.Op != OpStatus && req.Op != OpHello {
		s.touch()
	}
	s.logf("request %s %s", req.Op, req.Key)
	var resp Response
	switch req.Op {
	case OpHello, OpStatus:
		st := s.Status()
		resp.Status = &st
	case OpGet:
		it, err := s.get(req.Key)
		if err == nil {
			resp.Item = &it
		}
		resp.Error = wireError(err)
	case OpSet:
		if req.Item == nil {
			resp.Error = &WireError{Message: "set: no item"}
			break
		}
		resp.Error = wireError(s.set(*req.Item))
	case OpRemove:
		resp.Error = wireError(s.remove(req.Key))
	case OpKeys:
		keys, err := s.keys()
		resp.Keys, resp.Error = keys, wireError(err)
		if err == nil && keys == nil {
			resp.Keys = []string{}
		}
	case OpUnlock:
		resp.Error = wireError(s.unlock(req.Passphrase, req.FromEnv))
	case OpLock:
		s.Lock()
	case OpStop:
	default:
		resp.Error = &WireError{Kind: KindRefused, Message: fmt.Sprintf("unknown request %q", req.Op)}
	}
	return resp
}
