//go:build unix

package e2e

// Nothing lost (issue 9, points 1, 2 and 5): writes that fail or are killed
// part-way leave the old or the new value of every keyring item, readers
// never see a half-written session, and the cache directory is used only
// when it is private. Faults are real: a file-size limit (ulimit -f) and
// strace failing or killing at the Nth write(2) of the process tree, for
// every N until the command runs through without reaching N.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// maxFaultPoints bounds each fault loop, in case a command's writes never end.
const maxFaultPoints = 80

// storedKey reads profile's item with the keyring library's own file backend,
// which is what aws-vault reads with: an independent check of what is on disk.
func (w *world) storedKey(t *testing.T, profile string) (aws.Credentials, error) {
	t.Helper()
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          filepath.Join(w.E.Home, "keys"),
		FilePasswordFunc: keyring.FixedStringPrompt("e2e-file-passphrase"),
	})
	if err != nil {
		t.Fatal(err)
	}
	item, err := kr.Get(profile)
	if err != nil {
		return aws.Credentials{}, err
	}
	var c aws.Credentials
	if err := json.Unmarshal(item.Data, &c); err != nil {
		return aws.Credentials{}, fmt.Errorf("item %q is not an access key: %v", profile, err)
	}
	return c, nil
}

// faultRun runs rolevault args under strace, which makes the nth write(2) of
// each thread fail (fault "error=ENOSPC") or kills the process there
// ("signal=KILL"); strace counts per thread, and Go moves goroutines between
// threads, so which write is hit varies from run to run. injected is false
// when no thread made n writes; hitKeyring, whether the write hit was one to
// the file keyring's directory.
func faultRun(t *testing.T, e *Env, fault string, n int, args ...string) (r Result, injected, hitKeyring bool) {
	t.Helper()
	return faultRunIn(t, e, filepath.Join(e.Home, "keys"), fault, n, args...)
}

// faultRunIn is faultRun for a keyring kept in keysDir.
func faultRunIn(t *testing.T, e *Env, keysDir, fault string, n int, args ...string) (r Result, injected, hitKeyring bool) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "strace.log")
	// strace counts writes per thread, and the Go runtime moves goroutines
	// between threads; one P keeps the order of writes close to the same
	// from run to run, so the loop reaches the keyring's writes.
	argv := append([]string{"strace", "-f", "-y", "-o", log, "-e", "trace=write",
		"-e", "inject=write:" + fault + ":when=" + strconv.Itoa(n), "env", "GOMAXPROCS=1", binary}, args...)
	r = e.Exec(t, argv...)
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("strace wrote no log: %v\n%s", err, r)
	}
	keysDir += "/"
	pending := map[string]string{} // pid -> the first half of a write another thread's output split
	for _, line := range strings.Split(string(b), "\n") {
		pid, rest, _ := strings.Cut(line, " ")
		if strings.HasSuffix(line, "<unfinished ...>") {
			pending[pid] = line
			continue
		}
		if _, resumed, ok := strings.Cut(rest, "<... write resumed>"); ok {
			line = pending[pid] + resumed
			delete(pending, pid)
		}
		// A failed write is marked INJECTED; a killed one never returns.
		if strings.Contains(line, "(INJECTED)") || (strings.Contains(line, "write(") && strings.HasSuffix(line, "= ?")) {
			injected = true
			hitKeyring = hitKeyring || strings.Contains(line, "<"+keysDir)
		}
	}
	for _, line := range pending { // killed before the write returned
		if strings.Contains(line, "write(") {
			injected = true
			hitKeyring = hitKeyring || strings.Contains(line, "<"+keysDir)
		}
	}
	return r, injected || strings.Contains(string(b), "killed by SIGKILL"), hitKeyring
}

// faultLoop runs one pass of fault points per fault: run(n) for n = 1, 2, …
// until a run is not reached by the fault. Passes repeat (up to twelve) until
// some run's fault hit a write into the keyring's directory, since which
// write the nth is varies; a fault that never got there tested nothing.
func faultLoop(t *testing.T, needKeyringHit bool, run func(fault string, n int) (injected, hitKeyring bool)) {
	t.Helper()
	for _, fault := range faults {
		hits, points := 0, 0
		for pass := 0; pass < 12 && (pass == 0 || (needKeyringHit && hits == 0)); pass++ {
			for n := 1; n <= maxFaultPoints; n++ {
				injected, hit := run(fault, n)
				if hit {
					hits++
				}
				if !injected {
					break
				}
				points++
			}
		}
		t.Logf("%s: %d runs with a fault, %d of them at a keyring write", fault, points, hits)
		if needKeyringHit && hits == 0 {
			t.Errorf("%s: no fault hit a write to the keyring; the test tested nothing", fault)
		}
	}
}

var faults = []string{"error=ENOSPC", "signal=KILL"}

// TestAddOverExistingKeyFileSizeLimit: with a file-size limit of 0 (as on a
// full disk), replacing a stored key fails, says the old one is unchanged,
// and the old key is still there, whole.
func TestAddOverExistingKeyFileSizeLimit(t *testing.T) {
	w := newWorld(t)
	w.E.Set("AWS_ACCESS_KEY_ID", "AKIANEWKEYNEWKEY0001", "AWS_SECRET_ACCESS_KEY", "new-secret-new-secret-new-secret-00001")
	r := w.E.Exec(t, "sh", "-c", `ulimit -f 0; exec "$0" add login --env --no-add-config`, binary)
	expect(t, r, 1, "err:previous content is unchanged")
	c, err := w.storedKey(t, "login")
	if err != nil || c.AccessKeyID != w.KeyID || c.SecretAccessKey != w.Secret {
		t.Fatalf("after the failed add the stored key is %q (%v), want the old key %s", c.AccessKeyID, err, w.KeyID)
	}
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	if got := w.keyInUse(t); got != w.KeyID {
		t.Errorf("the profile now signs with %s, want the old key %s", got, w.KeyID)
	}
}

// TestAddOverExistingKeyWriteFaults: add replacing a stored key, failed or
// killed at each of its writes in turn. After every run the item holds the
// old or the new key; a run that says it failed left the old one; a run that
// succeeded stored the new one.
func TestAddOverExistingKeyWriteFaults(t *testing.T) {
	requireTool(t, "strace", "strace")
	w := newWorld(t)
	newID, newSecret := "AKIANEWKEYNEWKEY0002", "new-secret-new-secret-new-secret-00002"
	faultLoop(t, true, func(fault string, n int) (bool, bool) {
		w.E.Set("AWS_ACCESS_KEY_ID", newID, "AWS_SECRET_ACCESS_KEY", newSecret)
		r, injected, hit := faultRun(t, w.E, fault, n, "add", "login", "--env", "--no-add-config")
		c, err := w.storedKey(t, "login")
		switch {
		case err != nil:
			t.Fatalf("%s at write %d: the stored key is unreadable (%v)\n%s", fault, n, err, r)
		case c.AccessKeyID == w.KeyID && c.SecretAccessKey == w.Secret:
			if r.Code == 0 {
				t.Errorf("%s at write %d: add exited 0 but the old key is stored\n%s", fault, n, r)
			}
		case c.AccessKeyID == newID && c.SecretAccessKey == newSecret:
			if strings.Contains(r.Stderr, "unchanged") {
				t.Errorf("%s at write %d: add says the key is unchanged, but it stored the new one\n%s", fault, n, r)
			}
		default:
			t.Fatalf("%s at write %d: the stored key is %q, neither old nor new", fault, n, c.AccessKeyID)
		}
		// Put the old key back for the next fault point.
		w.E.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
		expect(t, w.E.Run(t, "add", "login", "--env", "--no-add-config"), 0)
		return injected, hit
	})
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	if l := w.E.Run(t, "list", "--credentials"); l.Stdout != "login\n" {
		t.Errorf("leftover temporary files show as credentials: %q", l.Stdout)
	}
}

// TestPassReplacesEntryByRename: `pass insert -f` has gpg rewrite an entry in
// place. rolevault's add over an existing key must instead leave a new file
// (renamed over the entry), and under a file-size limit, where writing the
// new entry fails, the old entry must still decrypt to the old key.
func TestPassReplacesEntryByRename(t *testing.T) {
	requireTool(t, "pass", "pass")
	requireTool(t, "gpg", "gnupg")
	e := NewEnv(t)
	passInit(t, e)
	e.Set("AWS_VAULT_BACKEND", "pass", "AWS_VAULT_PASS_PREFIX", "aws-vault")
	e.WriteConfig(t, "[profile login]\nregion = us-east-1\n")
	add := func(id, secret string, wrap ...string) Result {
		t.Helper()
		e.Set("AWS_ACCESS_KEY_ID", id, "AWS_SECRET_ACCESS_KEY", secret)
		return e.Exec(t, append(wrap, binary, "add", "login", "--env", "--no-add-config")...)
	}
	stored := func() string {
		t.Helper()
		r := e.Exec(t, "pass", "show", "aws-vault/login")
		var item struct{ Data []byte }
		var c aws.Credentials
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &item) != nil || json.Unmarshal(item.Data, &c) != nil {
			t.Fatalf("the entry does not decrypt to an access key: %s", r)
		}
		return c.AccessKeyID
	}
	entry := filepath.Join(e.Vars["PASSWORD_STORE_DIR"], "aws-vault", "login.gpg")
	expect(t, add("AKIAOLDKEYOLDKEY0003", "old-secret-old-secret-old-secret-00003"), 0)
	before, err := os.Stat(entry)
	must(t, err)

	r := add("AKIANEWKEYNEWKEY0003", "new-secret-new-secret-new-secret-00003", "sh", "-c", `ulimit -f 0; exec "$@"`, "sh")
	if r.Code == 0 {
		t.Errorf("add succeeded under a file-size limit of 0: %s", r)
	}
	if got := stored(); got != "AKIAOLDKEYOLDKEY0003" {
		t.Errorf("after the failed add the entry holds %s, want the old key", got)
	}

	expect(t, add("AKIANEWKEYNEWKEY0004", "new-secret-new-secret-new-secret-00004"), 0)
	after, err := os.Stat(entry)
	must(t, err)
	if os.SameFile(before, after) {
		t.Error("the entry was rewritten in place, not replaced by a new file")
	}
	if got := stored(); got != "AKIANEWKEYNEWKEY0004" {
		t.Errorf("the entry holds %s, want the new key", got)
	}
	delete(e.Vars, "AWS_ACCESS_KEY_ID")
	delete(e.Vars, "AWS_SECRET_ACCESS_KEY")
	if l := e.Run(t, "list", "--credentials"); l.Stdout != "login\n" {
		t.Errorf("temporary entries show as credentials: %q", l.Stdout)
	}
}

// keychainClaims are the key IDs rotate's messages say the keychain holds.
var keychainClaims = regexp.MustCompile(`keychain (?:still )?holds (?:the (?:old |new )?key )?(AKIA[A-Z0-9]+)|only (AKIA[A-Z0-9]+) is active, and it is the one in the keychain|both (AKIA[A-Z0-9]+) \(in the keychain\)`)

// TestRotateWriteFaults: rotate failed or killed at each write in turn (its
// IAM and STS requests, the keyring writes, its messages). Afterwards the
// keychain holds a key AWS accepts, and every key rotate says the keychain
// holds is the one it holds.
func TestRotateWriteFaults(t *testing.T) {
	requireTool(t, "strace", "strace")
	faultLoop(t, true, func(fault string, n int) (bool, bool) {
		w := newWorld(t)
		r, injected, hit := faultRun(t, w.E, fault, n, "rotate", "-n", "login")
		c, err := w.storedKey(t, "login")
		if err != nil {
			t.Fatalf("%s at write %d: the stored key is unreadable (%v)\n%s", fault, n, err, r)
		}
		if _, err := w.callerIdentity(context.Background(), processCreds{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}); err != nil {
			t.Errorf("%s at write %d: the keychain holds %s, which AWS rejects (%v)\n%s", fault, n, c.AccessKeyID, err, r)
		}
		for _, m := range keychainClaims.FindAllStringSubmatch(r.Stderr, -1) {
			if claimed := m[1] + m[2] + m[3]; claimed != c.AccessKeyID {
				t.Errorf("%s at write %d: rotate says the keychain holds %s, but it holds %s\n%s", fault, n, claimed, c.AccessKeyID, r)
			}
		}
		if !injected && r.Code != 0 {
			t.Errorf("rotate without a fault: %s", r)
		}
		return injected, hit
	})
}

// TestRemoveWriteFaults: remove failed or killed at each write: the key is
// afterwards either there, whole, or gone; never an unreadable item. (Removing
// writes nothing to an item, so no fault has to hit one.)
func TestRemoveWriteFaults(t *testing.T) {
	requireTool(t, "strace", "strace")
	w := newWorld(t)
	faultLoop(t, false, func(fault string, n int) (bool, bool) {
		expect(t, w.E.Run(t, "export", "--format=json", "role-b"), 0) // sessions to remove too
		r, injected, hit := faultRun(t, w.E, fault, n, "remove", "-f", "login")
		c, err := w.storedKey(t, "login")
		switch {
		case errors.Is(err, keyring.ErrKeyNotFound):
			if r.Code > 0 && !strings.Contains(r.Stderr, "login") { // a killed run cannot say anything
				t.Errorf("%s at write %d: the key is gone, but remove failed without saying so\n%s", fault, n, r)
			}
		case err != nil:
			t.Fatalf("%s at write %d: the key is unreadable (%v)\n%s", fault, n, err, r)
		case c.AccessKeyID != w.KeyID:
			t.Fatalf("%s at write %d: the key is %s", fault, n, c.AccessKeyID)
		case r.Code == 0:
			t.Errorf("%s at write %d: remove exited 0 and the key is still there\n%s", fault, n, r)
		}
		w.E.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
		expect(t, w.E.Run(t, "add", "login", "--env", "--no-add-config"), 0)
		delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
		delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
		return injected, hit
	})
}

// TestSessionCacheWriteFaults: a refresh whose session write fails or is
// killed never breaks the next run: that one reads the old session, the new
// one, or fetches again, and the long-term key is untouched. Role sessions
// are capped below the refresh window, so every run rewrites the role-a
// item (from the cached MFA session, with no new code).
func TestSessionCacheWriteFaults(t *testing.T) {
	requireTool(t, "strace", "strace")
	w := newWorld(t)
	w.STS.SetMaxSessionLifetime(10 * time.Minute)
	expect(t, w.E.Run(t, "export", "--format=json", "role-a"), 0)
	mfa := w.mfaRuns(t)
	faultLoop(t, true, func(fault string, n int) (bool, bool) {
		_, injected, hit := faultRun(t, w.E, fault, n, "export", "--format=json", "role-a")
		r := w.E.Run(t, "export", "--format=json", "role-a")
		if r.Code != 0 {
			t.Fatalf("%s at write %d broke the next run: %s", fault, n, r)
		}
		if c, err := w.storedKey(t, "login"); err != nil || c.AccessKeyID != w.KeyID {
			t.Fatalf("%s at write %d: the stored key is %q (%v)", fault, n, c.AccessKeyID, err)
		}
		return injected, hit
	})
	if got := w.mfaRuns(t); got != mfa {
		t.Errorf("faults in role session writes cost %d new MFA prompts", got-mfa)
	}
}

// TestTornReadsUnderParallelRefresh: processes that all read the role-a
// session while others rewrite it (its lifetime is below the refresh window,
// so every run refreshes it), beside warm readers of the MFA session: no run
// fails.
func TestTornReadsUnderParallelRefresh(t *testing.T) {
	w := newWorld(t)
	w.STS.SetMaxSessionLifetime(10 * time.Minute)
	expect(t, w.E.Run(t, "export", "--format=json", "role-a"), 0)
	const workers, rounds = 6, 12
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		profile := "role-a"
		if i%3 == 2 {
			profile = "login" // a warm reader
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < rounds; j++ {
				cmd := exec.Command(binary, "export", "--format=json", profile)
				cmd.Env = w.E.Environ()
				cmd.Dir = w.E.Home
				out, err := cmd.CombinedOutput()
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %v: %s", profile, err, tail(string(out), 300)))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of %d runs failed; first: %s", len(failures), workers*rounds, failures[0])
	}
}

// TestSessionItemsAreNotAWSVaultCredentials: after rolevault cached sessions,
// every item other than the stored key is named as aws-vault v7 names a
// session ("type,profile,mfa,expiry"), so `aws-vault list --credentials` on
// this keyring lists only the key; rolevault's list still shows the sessions.
func TestSessionItemsAreNotAWSVaultCredentials(t *testing.T) {
	w := newWorld(t)
	expect(t, w.E.Run(t, "export", "--format=json", "role-b"), 0)
	entries, err := os.ReadDir(filepath.Join(w.E.Home, "keys"))
	must(t, err)
	sessionShape := regexp.MustCompile(`^[^,]+,[^,]+,[^,]*,[0-9]+$`)
	n := 0
	for _, e := range entries {
		if e.Name() == "login" {
			continue
		}
		n++
		if !sessionShape.MatchString(e.Name()) {
			t.Errorf("item %q would be an aws-vault credential", e.Name())
		}
	}
	if n != 3 {
		t.Errorf("%d session items, want 3 (login, role-a, role-b)", n)
	}
	l := w.E.Run(t, "list", "--sessions")
	expect(t, l, 0)
	for _, p := range []string{"login:GetSessionToken:", "role-a:AssumeRole:", "role-b:AssumeRole:"} {
		if !strings.Contains(l.Stdout, p) {
			t.Errorf("list --sessions lacks %s:\n%s", p, l.Stdout)
		}
	}
	if c := w.E.Run(t, "list", "--credentials"); c.Stdout != "login\n" {
		t.Errorf("list --credentials = %q", c.Stdout)
	}
}

// TestCacheDirSharedIsRefused: a cache directory others can write (a
// stand-in for /tmp, then /tmp itself) is refused with a one-line error and
// a hint, and its mode is left as it was.
func TestCacheDirSharedIsRefused(t *testing.T) {
	w := newWorld(t)
	shared, err := os.MkdirTemp("", "rolevault-shared-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(shared) })
	must(t, os.Chmod(shared, os.ModeSticky|0o777))
	for _, dir := range []string{shared, "/tmp"} {
		before, err := os.Stat(dir)
		must(t, err)
		if dir == "/tmp" && before.Mode()&(os.ModeSticky|0o777) != os.ModeSticky|0o777 {
			t.Logf("/tmp is not 1777 here (%v); checked the stand-in only", before.Mode())
			continue
		}
		w.E.Set("ROLEVAULT_CACHE_DIR", dir)
		r := w.E.Run(t, "export", "--format=json", "role-a")
		expect(t, r, 1, "err:cache directory "+dir+" is writable by other users (mode 1777)", "err:ROLEVAULT_CACHE_DIR")
		if lines := strings.Split(strings.TrimSpace(r.Stderr), "\n"); len(lines) != 2 {
			t.Errorf("want one error line and one hint, got %q", r.Stderr)
		}
		after, err := os.Stat(dir)
		must(t, err)
		if after.Mode() != before.Mode() {
			// Stop before the real /tmp if the stand-in was changed.
			t.Fatalf("%s: mode changed from %v to %v", dir, before.Mode(), after.Mode())
		}
	}
}

// TestCacheDirOtherUsersSymlinks (as root): another local user plants
// symlinks at the names of rolevault's lock-holder files, pointing at a
// root-owned file, in a shared directory and in a directory of their own.
// rolevault refuses both directories and the root-owned file is untouched.
func TestCacheDirOtherUsersSymlinks(t *testing.T) {
	skipIfE2EOff(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root, to add a second local user (useradd) and act as it (runuser)")
	}
	requireTool(t, "useradd", "passwd")
	requireTool(t, "runuser", "util-linux")
	user := fmt.Sprintf("rvtest%d", os.Getpid())
	if out, err := exec.Command("useradd", "-M", "-s", "/usr/sbin/nologin", user).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", user).Run() })
	asUser := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("runuser", append([]string{"-u", user, "--"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("as %s: %q: %v: %s", user, args, err, out)
		}
	}

	w := newWorld(t)
	w.STS.SetMaxSessionLifetime(10 * time.Minute) // every run refreshes role-a, under its lock
	expect(t, w.E.Run(t, "export", "--format=json", "role-a"), 0)
	locks, _ := filepath.Glob(filepath.Join(w.E.Vars["ROLEVAULT_CACHE_DIR"], "*.lock"))
	if len(locks) == 0 {
		t.Fatal("no lock files to learn the names from")
	}
	victim := filepath.Join(t.TempDir(), "root-owned")
	must(t, os.WriteFile(victim, []byte("root's file\n"), 0o600))

	shared, err := os.MkdirTemp("", "rolevault-shared-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(shared) })
	must(t, os.Chmod(shared, os.ModeSticky|0o777))
	theirs, err := os.MkdirTemp("", "rolevault-theirs-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(theirs) })
	must(t, os.Chmod(theirs, 0o755))
	asUser("true") // the user exists and can run
	must(t, exec.Command("chown", user, theirs).Run())

	for _, c := range []struct{ dir, problem string }{
		{shared, "is writable by other users (mode 1777)"},
		{theirs, "is owned by uid "},
	} {
		for _, l := range locks {
			asUser("ln", "-s", victim, filepath.Join(c.dir, strings.TrimSuffix(filepath.Base(l), ".lock")+".holder"))
		}
		w.E.Set("ROLEVAULT_CACHE_DIR", c.dir)
		// The refresh is refused; the run may still succeed on the cached
		// role session, which is valid for a few more minutes, and warns.
		r := w.E.Run(t, "export", "--format=json", "role-a")
		if !strings.Contains(r.Stderr, "cache directory "+c.dir+" "+c.problem) {
			t.Errorf("%s was not refused: %s", c.dir, r)
		}
		if b, _ := os.ReadFile(victim); string(b) != "root's file\n" {
			t.Fatalf("rolevault wrote through %s's symlink in %s into a root-owned file: %q", user, c.dir, b)
		}
	}
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o777 {
		t.Errorf("the shared directory's mode was changed to %v", fi.Mode())
	}
}
