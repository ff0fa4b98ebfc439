package keychain

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLockHelperProcess is not a test: lock tests re-run the test binary with
// ROLEVAULT_LOCK_HELPER set so a second, real process holds the lock.
func TestLockHelperProcess(t *testing.T) {
	dir, key := os.Getenv("ROLEVAULT_LOCK_HELPER"), os.Getenv("ROLEVAULT_LOCK_KEY")
	if dir == "" {
		return
	}
	l := &Locks{Dir: dir}
	release, err := l.Acquire(context.Background(), key, "asking for your MFA code for arn:aws:iam::111111111111:mfa/alice")
	if err != nil {
		os.Exit(3)
	}
	defer release()
	os.WriteFile(filepath.Join(dir, "held"), nil, 0o600)
	time.Sleep(time.Minute) // until killed
}

func startHolder(t *testing.T, dir, key string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "ROLEVAULT_LOCK_HELPER="+dir, "ROLEVAULT_LOCK_KEY="+key)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "held")); err == nil {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatal("helper process never took the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLockWaiterSaysWhoHoldsIt(t *testing.T) {
	dir := t.TempDir()
	startHolder(t, dir, "k1")
	var said string
	l := &Locks{Dir: dir, Timeout: 300 * time.Millisecond, Waiting: func(h string) { said = h }}
	_, err := l.Acquire(context.Background(), "k1", "x")
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("err = %v, want ErrLockTimeout", err)
	}
	if !strings.Contains(said, "pid") || !strings.Contains(said, "asking for your MFA code for arn:aws:iam::111111111111:mfa/alice") {
		t.Errorf("waiting message %q does not say who holds the lock", said)
	}
	if !strings.Contains(err.Error(), "mfa/alice") {
		t.Errorf("timeout error %q does not name the holder", err)
	}
}

func TestLockKilledHolderDoesNotWedge(t *testing.T) {
	dir := t.TempDir()
	holder := startHolder(t, dir, "k2")
	go func() { time.Sleep(200 * time.Millisecond); holder.Process.Kill() }()
	l := &Locks{Dir: dir, Timeout: 10 * time.Second}
	release, err := l.Acquire(context.Background(), "k2", "x")
	if err != nil {
		t.Fatalf("lock after holder was killed: %v", err)
	}
	release()
}

func TestLockHonoursCancel(t *testing.T) {
	dir := t.TempDir()
	startHolder(t, dir, "k3")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	l := &Locks{Dir: dir, Timeout: time.Minute}
	_, err := l.Acquire(ctx, "k3", "x")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Ctrl-C while waiting says whom it was waiting for, not "context canceled".
	var ie *InterruptedError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "interrupted while waiting for rolevault (pid") ||
		!strings.Contains(err.Error(), "mfa/alice") {
		t.Errorf("err = %q, want an InterruptedError naming the holder", err)
	}
}

func TestLockSerialisesInProcess(t *testing.T) {
	dir := t.TempDir()
	l := &Locks{Dir: dir}
	var inside, maxInside int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.Acquire(context.Background(), "same", "x")
			if err != nil {
				t.Error(err)
				return
			}
			n := atomic.AddInt32(&inside, 1)
			for {
				m := atomic.LoadInt32(&maxInside)
				if n <= m || atomic.CompareAndSwapInt32(&maxInside, m, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			atomic.AddInt32(&inside, -1)
			release()
		}()
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once, want 1", maxInside)
	}
}

func TestLockDirIsPrivate(t *testing.T) {
	// A directory Acquire creates, parents included, is 0700 whatever the umask.
	dir := filepath.Join(t.TempDir(), "cache", "locks")
	l := &Locks{Dir: dir}
	release, err := l.Acquire(context.Background(), "k", "x")
	if err != nil {
		t.Fatal(err)
	}
	release()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		fi, _ := os.Stat(d)
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
}

// TestLockWaiterWakesWithoutPolling: a waiter blocks in the kernel and gets
// the lock as soon as the holder dies. There is no poll interval to wait
// out: the kernel wakes it (the old poller tried every 50 ms).
func TestLockWaiterWakesWithoutPolling(t *testing.T) {
	dir := t.TempDir()
	holder := startHolder(t, dir, "k4")
	waiting := make(chan struct{})
	l := &Locks{Dir: dir, Timeout: time.Minute, Waiting: func(string) { close(waiting) }}
	go func() { <-waiting; holder.Process.Kill() }()
	release, err := l.Acquire(context.Background(), "k4", "x")
	if err != nil {
		t.Fatalf("waiter did not get the lock when its holder died: %v", err)
	}
	release()
}

// TestLockWaitersReadTogether: the waiters a holder releases read the cache
// at the same time, under a shared lock, not one after the other. Each
// waiter's fresh blocks until all of them are inside it; waiters that took
// turns would never all be inside at once and would time out.
func TestLockWaitersReadTogether(t *testing.T) {
	const n = 4
	dir := t.TempDir()
	holder := startHolder(t, dir, "k5")
	var waitingCount atomic.Int32
	allWaiting := make(chan struct{})
	l := &Locks{Dir: dir, Timeout: time.Minute, Waiting: func(string) {
		if waitingCount.Add(1) == n {
			close(allWaiting)
		}
	}}
	var inside atomic.Int32
	allInside := make(chan struct{})
	fresh := func() (bool, error) {
		if inside.Add(1) == n {
			close(allInside)
		}
		select {
		case <-allInside:
			return true, nil
		case <-time.After(20 * time.Second):
			return false, errors.New("the other waiters never read at the same time")
		}
	}
	errs := make(chan error, n)
	for range n {
		go func() {
			release, done, err := l.AcquireUnlessFresh(context.Background(), "k5", "x", fresh)
			if err == nil && !done {
				err = errors.New("fresh said yes, but AcquireUnlessFresh did not return done")
			}
			if release != nil {
				release()
			}
			errs <- err
		}()
	}
	<-allWaiting
	holder.Process.Kill()
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestLockWaitersTakeTurnsWhenNotFresh: when the holder leaves nothing usable
// (it failed or was killed), the waiters fall back to the exclusive lock:
// each gets it in turn, never two at once, and is not done.
func TestLockWaitersTakeTurnsWhenNotFresh(t *testing.T) {
	const n = 4
	dir := t.TempDir()
	holder := startHolder(t, dir, "k6")
	var waitingCount atomic.Int32
	allWaiting := make(chan struct{})
	l := &Locks{Dir: dir, Timeout: time.Minute, Waiting: func(string) {
		if waitingCount.Add(1) == n {
			close(allWaiting)
		}
	}}
	var reads, inside, maxInside atomic.Int32
	fresh := func() (bool, error) { reads.Add(1); return false, nil }
	errs := make(chan error, n)
	for range n {
		go func() {
			release, done, err := l.AcquireUnlessFresh(context.Background(), "k6", "x", fresh)
			if err != nil || done {
				errs <- errors.Join(err, errors.New("not holding the lock"))
				return
			}
			m := inside.Add(1)
			for {
				old := maxInside.Load()
				if m <= old || maxInside.CompareAndSwap(old, m) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			inside.Add(-1)
			release()
			errs <- nil
		}()
	}
	<-allWaiting
	holder.Process.Kill()
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if maxInside.Load() != 1 {
		t.Errorf("%d holders at once, want 1", maxInside.Load())
	}
	// Each waiter read once shared and once more with the lock.
	if reads.Load() != 2*n {
		t.Errorf("fresh ran %d times, want %d", reads.Load(), 2*n)
	}
}

// TestLockHolderChecksFresh: a caller that gets the lock at once still reads
// the cache under it, and is done without holding anything when the session
// is there.
func TestLockHolderChecksFresh(t *testing.T) {
	dir := t.TempDir()
	l := &Locks{Dir: dir}
	release, done, err := l.AcquireUnlessFresh(context.Background(), "k7", "x", func() (bool, error) { return true, nil })
	if err != nil || !done {
		t.Fatalf("done %v, err %v; want done", done, err)
	}
	release()
	// Nothing is held: the lock is free for the next caller at once.
	release, err = (&Locks{Dir: dir, Timeout: time.Millisecond}).Acquire(context.Background(), "k7", "x")
	if err != nil {
		t.Fatalf("lock still held after a fresh read: %v", err)
	}
	release()
}
