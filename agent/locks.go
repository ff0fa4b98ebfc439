// Single flight through the agent: the agent takes the session's file lock (keychain.Locks) for a client and holds it until the client releases it or goes away; the agent's own waiters wake the moment it is released.

package agent

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rolevault/rolevault/keychain"
)

// lockTable is one slot per lock directory and key, so the agent's waiters
// queue in memory (woken at once on release) instead of polling the file.
type lockTable struct {
	mu    sync.Mutex
	slots map[string]chan struct{}
}

func (t *lockTable) slot(dir, key string) chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.slots == nil {
		t.slots = map[string]chan struct{}{}
	}
	id := dir + "\x00" + key
	ch, ok := t.slots[id]
	if !ok {
		ch = make(chan struct{}, 1)
		t.slots[id] = ch
	}
	return ch
}

// acquire takes key's lock in dir for the client pid: first the agent's own
// slot, then the same file lock a process without the agent takes.
func (s *Server) acquire(ctx context.Context, req Request, waiting func(string)) (func(), error) {
	slot := s.locks.slot(req.Dir, req.Key)
	timeout := time.Duration(req.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = keychain.DefaultLockTimeout
	}
	select {
	case slot <- struct{}{}:
	default:
		holder := keychain.LockHolder(req.Dir, req.Key)
		if waiting != nil {
			waiting(holder)
			waiting = nil // told once per wait, as the file lock tells
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case slot <- struct{}{}:
		case <-ctx.Done():
			if holder == "" {
				holder = "another rolevault process"
			}
			return nil, keychain.InterruptedWhile(ctx, "waiting for "+holder)
		case <-t.C:
			if holder == "" {
				holder = "another rolevault process"
			}
			return nil, fmt.Errorf("%w: %s still holds the lock after %s", keychain.ErrLockTimeout, holder, timeout)
		}
	}
	l := &keychain.Locks{Dir: req.Dir, PID: req.PID, Waiting: waiting, Timeout: timeout}
	release, err := l.Acquire(ctx, req.Key, req.Doing)
	if err != nil {
		<-slot
		return nil, err
	}
	return func() { release(); <-slot }, nil
}

// holdLock serves a lock-acquire: it may say whom it waits for (a Waiting
// frame), then answers once it holds the lock, and releases it on the
// client's lock-release or when the connection drops — a killed client
// never wedges the others.
func (s *Server) holdLock(c *net.UnixConn, req Request) {
	s.logf("request %s %s", req.Op, req.Key)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ended := make(chan struct{})
	go func() {
		// Whatever comes next (a lock-release frame, EOF, an error) ends
		// the wait or the hold.
		var next Request
		_ = ReadFrame(c, &next)
		cancel()
		close(ended)
	}()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if req.Dir == "" || req.Key == "" {
		_ = WriteFrame(c, Response{Error: &WireError{Message: "lock-acquire: no lock directory or key"}})
		return
	}
	release, err := s.acquire(ctx, req, func(holder string) {
		if holder == "" {
			holder = "another rolevault process"
		}
		_ = WriteFrame(c, Response{Waiting: holder})
	})
	if err != nil {
		_ = WriteFrame(c, Response{Error: wireError(err)})
		return
	}
	if WriteFrame(c, Response{}) != nil {
		release()
		return
	}
	<-ended
	release()
	s.logf("released lock %s", req.Key)
	_ = WriteFrame(c, Response{})
}
