package testskip

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helperEnv makes TestHelperMissing act; the tests below run this test
// binary with it set, as go test would run a package whose tool is missing.
const helperEnv = "ROLEVAULT_TESTSKIP_HELPER"

func TestHelperMissing(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.SkipNow() // only as a helper process
	}
	Missing(t, "nosuchtool", "nosuch-pkg other-pkg", "nosuchtool is not installed")
	t.Log("still running after Missing")
}

// helper runs TestHelperMissing in dir with the given extra environment.
func helper(t *testing.T, dir string, env ...string) (string, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestHelperMissing$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), append([]string{helperEnv + "=1"}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanEnv is this process's environment without the variables under test.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROLEVAULT_E2E=") && !strings.HasPrefix(kv, FileEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func TestMissingSkipsAndRecords(t *testing.T) {
	file := filepath.Join(t.TempDir(), "skips")
	out, err := helper(t, ".", FileEnv+"="+file)
	if err != nil {
		t.Fatalf("helper failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "--- SKIP: TestHelperMissing") || !strings.Contains(out, "nosuchtool is not installed; set ROLEVAULT_E2E=require") {
		t.Fatalf("want a skip with the reason, got:\n%s", out)
	}
	if strings.Contains(out, "still running") {
		t.Fatalf("the test went on after Missing:\n%s", out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "internal/testskip\tTestHelperMissing\tnosuchtool\tnosuch-pkg other-pkg\n"; string(b) != want {
		t.Fatalf("skip file = %q, want %q", b, want)
	}
}

func TestMissingFailsUnderRequire(t *testing.T) {
	file := filepath.Join(t.TempDir(), "skips")
	out, err := helper(t, ".", FileEnv+"="+file, "ROLEVAULT_E2E=require")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(out, "--- FAIL: TestHelperMissing") ||
		!strings.Contains(out, "nosuchtool is not installed; ROLEVAULT_E2E=require makes this a failure") {
		t.Fatalf("want the helper to fail, got %v:\n%s", err, out)
	}
	if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
		t.Fatalf("a failure was recorded as a skip: %q", b)
	}
}

func TestMissingWithoutFileOnlySkips(t *testing.T) {
	out, err := helper(t, ".")
	if err != nil || !strings.Contains(out, "--- SKIP: TestHelperMissing") || strings.Contains(out, "recording the skip") {
		t.Fatalf("want a plain skip, got %v:\n%s", err, out)
	}
}

// TestMakeTestSummary runs `make test` with a stand-in for go that runs the
// helper as two packages would (prompt and server) and then fails with exit
// code 3: make prints one summary naming both skipped tests and the Debian
// packages, fails, and leaves no skip file behind.
func TestMakeTestSummary(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		Missing(t, "make", "make", "make is not installed (Debian/Ubuntu: apt-get install make)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	fakeGo := filepath.Join(dir, "go")
	script := "#!/bin/sh\n" +
		"[ \"$1\" = test ] || exit 64\n" +
		"for p in prompt server; do (cd \"" + root + "/$p\" && " + helperEnv + "=1 \"" + self + "\" -test.run='^TestHelperMissing$') || exit 65; done\n" +
		"exit 3\n"
	if err := os.WriteFile(fakeGo, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "--no-print-directory", "-C", root, "test", "GO="+fakeGo)
	cmd.Env = append(cleanEnv(), "TMPDIR="+tmp)
	b, err := cmd.CombinedOutput()
	out := string(b)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("make test should fail when go test fails; got %v:\n%s", err, out)
	}
	for _, want := range []string{
		"== Skipped 2 real-component tests: a program they need is not installed",
		"nosuchtool (Debian: nosuch-pkg other-pkg): prompt.TestHelperMissing, server.TestHelperMissing",
		"To run them: sudo apt-get install nosuch-pkg other-pkg\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%q not in make test's output:\n%s", want, out)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("make test left %v in TMPDIR", left)
	}
}
