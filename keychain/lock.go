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
	"sync"
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
	// Waiting is told, once per wait, who holds the lock, so the waiter can
	// say why it is waiting. It may be nil.
	Waiting func(holder string)
}

func lockName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

// Acquire takes the lock for key, waiting while another process holds it.
// doing describes what the holder will do ("asking for your MFA code for …"),
// for the message other waiters print. The returned release must be called.
func (l *Locks) Acquire(ctx context.Context, key, doing string) (release func(), err error) {
	release, _, err = l.AcquireUnlessFresh(ctx, key, doing, nil)
	return release, err
}

// AcquireUnlessFresh is Acquire for a caller that needs the lock only while
// the cache has no usable session for key: fresh reads the cache and reports
// whether it has one (keeping what it read). fresh runs with the lock held,
// and when it says yes AcquireUnlessFresh returns done, holding nothing
// (release is then a no-op). A caller that has to wait for another process
// runs fresh under a shared lock: every waiter the holder releases reads
// the session it cached at the same moment, instead of taking the lock and
// decrypting the item one after the other. Only when fresh still says no
// (the holder failed or was killed) does a waiter go on to take the lock
// itself, exclusively, and run fresh once more under it. A nil fresh makes
// it Acquire.
func (l *Locks) AcquireUnlessFresh(ctx context.Context, key, doing string, fresh func() (bool, error)) (release func(), done bool, err error) {
	if err := privateDir(l.Dir); err != nil {
		var ce *CacheDirError
		if errors.As(err, &ce) {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("creating lock directory %s: %w", l.Dir, err)
	}
	base := filepath.Join(l.Dir, lockName(key))
	// O_NOFOLLOW: a symlink planted at the lock's name is an error, not a
	// file elsewhere that rolevault would create or lock.
	fl := flock.New(base+".lock", flock.SetPermissions(0o600), flock.SetFlag(os.O_CREATE|os.O_RDWR|oNoFollow))
	lockErr := func(err error) error { return fmt.Errorf("locking %s: %w", fl.Path(), err) }

	timeout := l.Timeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	deadline := time.Now().Add(timeout)
	holder, told := "", false
	// wait blocks until this process has the lock (shared: alongside other
	// readers), telling Waiting who holds it the first time; the
	// interruption and the timeout are errors naming the holder.
	wait := func(shared bool) error {
		if !told {
			told = true
			holder = readHolder(base + ".holder")
			if l.Waiting != nil {
				l.Waiting(holder)
			}
		}
		ok, err := waitLock(ctx, fl, time.Until(deadline), shared)
		if err != nil {
			return lockErr(err)
		}
		if ok {
			return nil
		}
		if ctx.Err() != nil {
			if holder == "" {
				holder = "another rolevault process"
			}
			return InterruptedWhile(ctx, "waiting for "+holder)
		}
		if holder = readHolder(base + ".holder"); holder == "" {
			holder = "another rolevault process"
		}
		return fmt.Errorf("%w: %s still holds the lock after %s (lock file %s)", ErrLockTimeout, holder, timeout, fl.Path())
	}

	ok, err := fl.TryLock()
	if err != nil {
		return nil, false, lockErr(err)
	}
	if !ok && fresh != nil {
		// Readers only (TryRLock succeeds) means the holder is done and
		// others are reading what it cached: read along, without a
		// message. Otherwise wait for the holder.
		got, err := fl.TryRLock()
		if err != nil {
			return nil, false, lockErr(err)
		}
		if !got {
			if err := wait(true); err != nil {
				return nil, false, err
			}
		}
		isFresh, err := fresh()
		_ = fl.Unlock()
		if err != nil || isFresh {
			return func() {}, isFresh, err
		}
		// Still nothing usable: queue for the lock itself. From here on
		// every waiter waits exclusively, so two of them cannot keep
		// passing a shared lock back and forth.
		if ok, err = fl.TryLock(); err != nil {
			return nil, false, lockErr(err)
		}
	}
	if !ok {
		if err := wait(false); err != nil {
			return nil, false, err
		}
	}
	// Best effort: the holder file only feeds the waiters' message. Renamed
	// into place, so it never writes through a symlink.
	_ = WriteFileAtomic(l.Dir, filepath.Base(base)+".holder", []byte(fmt.Sprintf("%d\n%s\n", os.Getpid(), doing)), 0o600)
	release = func() {
		_ = os.Remove(base + ".holder")
		_ = fl.Unlock()
	}
	if fresh != nil {
		isFresh, err := fresh()
		if err != nil || isFresh {
			release()
			return func() {}, isFresh, err
		}
	}
	return release, false, nil
}

// waitLock takes fl (shared or exclusive), waiting at most timeout. It
// blocks in the kernel, which wakes it as soon as the holder releases the
// lock or dies: polling with TryLock every 50ms made each waiter notice up
// to 50ms late. The
// blocking call runs in a goroutine so that ctx and the timeout still end
// the wait (ok false, err nil); if that goroutine obtains the lock after the
// wait was given up, it releases it at once.
func waitLock(ctx context.Context, fl *flock.Flock, timeout time.Duration, shared bool) (ok bool, err error) {
	var mu sync.Mutex
	abandoned := false
	got := make(chan error, 1)
	go func() {
		lock := fl.Lock
		if shared {
			lock = fl.RLock
		}
		err := lock()
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if err == nil {
				_ = fl.Unlock()
			}
			return
		}
		got <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-got:
		return err == nil, err
	case <-ctx.Done():
	case <-timer.C:
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case err := <-got: // obtained while the wait was ending: keep it
		return err == nil, err
	default:
		abandoned = true
		return false, nil
	}
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
