package keychain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// DefaultLockTimeout bounds how long a caller waits for another process that
// is refreshing the same session. It is long because the holder may be waiting
// for a person to find their MFA device.
const DefaultLockTimeout = 5 * time.Minute

// ErrLockTimeout is returned when another process held a session's lock for
// longer than the timeout.
var ErrLockTimeout = errors.New("timed out waiting for another rolevault process")

// Locks hands out cross-process locks, one per session cache key, as files in
// Dir. They serialise "prompt for MFA and call STS" so that N processes asking
// for the same session at once cause one prompt and one STS call: the others
// wait, then find the session in the cache. The kernel drops a lock when its
// holder dies, so a killed process never wedges the rest.
type Locks struct {
	Dir     string
	Timeout time.Duration // zero means DefaultLockTimeout
	Poll    time.Duration // zero means 50ms
	// Waiting is told, once per wait, who holds the lock, so the waiter can
	// say why it is waiting. It may be nil.
	Waiting func(holder string)
	// Via, when set, is asked first to take the lock on this process's
	// behalf: the agent holds the same file lock for it, so processes with
	// and without the agent share one lock per session. handled false means
	// it could not (no agent, or it went away) and Acquire takes the file
	// lock itself.
	Via func(ctx context.Context, key, doing string, waiting func(holder string)) (release func(), handled bool, err error)
	// PID is the process the holder file names; zero means this one. The
	// agent sets it to the client it holds the lock for.
	PID int
}

// LockHolder describes who holds key's lock in dir, as waiters are told
// ("rolevault (pid 4242), which is asking for …"), or "" when unknown.
func LockHolder(dir, key string) string {
	return readHolder(filepath.Join(dir, lockName(key)) + ".holder")
}

func lockName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

// Acquire takes the lock for key, waiting while another process holds it.
// doing describes what the holder will do ("asking for your MFA code for …"),
// for the message other waiters print. The returned release must be called.
func (l *Locks) Acquire(ctx context.Context, key, doing string) (release func(), err error) {
	if l.Via != nil {
		if release, handled, err := l.Via(ctx, key, doing, l.Waiting); handled || err != nil {
			return release, err
		}
	}
	if err := privateDir(l.Dir); err != nil {
		var ce *CacheDirError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("creating lock directory %s: %w", l.Dir, err)
	}
	base := filepath.Join(l.Dir, lockName(key))
	// O_NOFOLLOW: a symlink planted at the lock's name is an error, not a
	// file elsewhere that rolevault would create or lock.
	fl := flock.New(base+".lock", flock.SetPermissions(0o600), flock.SetFlag(os.O_CREATE|os.O_RDWR|oNoFollow))

	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", fl.Path(), err)
	}
	if !ok {
		holder := readHolder(base + ".holder")
		if l.Waiting != nil {
			l.Waiting(holder)
		}
		timeout := l.Timeout
		if timeout <= 0 {
			timeout = DefaultLockTimeout
		}
		poll := l.Poll
		if poll <= 0 {
			poll = 50 * time.Millisecond
		}
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		ok, err = fl.TryLockContext(wctx, poll)
		if !ok {
			if ctx.Err() != nil {
				if holder == "" {
					holder = "another rolevault process"
				}
				return nil, InterruptedWhile(ctx, "waiting for "+holder)
			}
			if holder = readHolder(base + ".holder"); holder == "" {
				holder = "another rolevault process"
			}
			return nil, fmt.Errorf("%w: %s still holds the lock after %s (lock file %s)", ErrLockTimeout, holder, timeout, fl.Path())
		}
		if err != nil {
			return nil, fmt.Errorf("locking %s: %w", fl.Path(), err)
		}
	}
	// Best effort: the holder file only feeds the waiters' message. Renamed
	// into place, so it never writes through a symlink.
	_ = WriteFileAtomic(l.Dir, filepath.Base(base)+".holder", []byte(fmt.Sprintf("%d\n%s\n", l.pid(), doing)), 0o600)
	return func() {
		_ = os.Remove(base + ".holder")
		_ = fl.Unlock()
	}, nil
}

// readHolder describes the process that wrote a holder file, e.g.
// "rolevault (pid 4242), which is asking for your MFA code for …".
func readHolder(path string) string {
	b, err := readRegularFile(path, 4096)
	if err != nil {
		return ""
	}
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
	pid, err := strconv.Atoi(lines[0])
	if err != nil {
		return ""
	}
	s := fmt.Sprintf("rolevault (pid %d)", pid)
	if len(lines) == 2 && lines[1] != "" {
		s += ", which is " + lines[1]
	}
	return s
}

func (l *Locks) pid() int {
	if l.PID != 0 {
		return l.PID
	}
	return os.Getpid()
}
