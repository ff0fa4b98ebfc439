// Package testskip is what a test does when a real program it needs (a
// keyring daemon, the AWS CLI, tmux) is not installed: fail under
// ROLEVAULT_E2E=require (CI), otherwise skip and note the skip in the file
// named by ROLEVAULT_SKIP_FILE, from which `make test` prints one summary.
package testskip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FileEnv names the file skips are appended to, one line each:
// package, test, program and Debian package, separated by tabs.
// Unset or empty: skips are not recorded.
const FileEnv = "ROLEVAULT_SKIP_FILE"

// Missing reports that tool, from Debian package pkg, is not available; msg
// says so in words. Under ROLEVAULT_E2E=require the test fails; otherwise the
// skip is recorded and the test skips.
func Missing(t testing.TB, tool, pkg, msg string) {
	t.Helper()
	if os.Getenv("ROLEVAULT_E2E") == "require" {
		t.Fatal(msg + "; ROLEVAULT_E2E=require makes this a failure")
	}
	if err := record(t.Name(), tool, pkg); err != nil {
		t.Logf("recording the skip in $%s: %v", FileEnv, err)
	}
	t.Skip(msg + "; set ROLEVAULT_E2E=require to make this a failure")
}

// record appends one line to the skip file. Test binaries of several
// packages run at once; each line is one write to a file opened for
// appending, so lines do not interleave.
func record(test, tool, pkg string) error {
	path := os.Getenv(FileEnv)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	line := strings.Join([]string{field(packageName()), field(test), field(tool), field(pkg)}, "\t") + "\n"
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// packageName is the directory of the package under test, relative to the
// module root (go test runs each test binary in its package's directory).
func packageName() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if rel, err := filepath.Rel(dir, wd); err == nil {
				return filepath.ToSlash(rel)
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return filepath.Base(wd)
}

func field(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	return s
}
