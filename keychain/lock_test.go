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
	l := &Locks{Dir: dir, Poll: time.Millisecond}
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
