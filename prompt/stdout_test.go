package prompt

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The package's promise is that nothing it does reaches stdout, where a
// credential_process reader expects JSON. Child programs get a buffer as
// stdout (the program tests check that); this guards the package's own
// code against a stray print.
func TestNoStdoutInPackageCode(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	bad := regexp.MustCompile(`os\.Stdout|fmt\.Print|\bprintln\(|\bprint\(|os\.NewFile\(1,`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if bad.MatchString(line) {
				t.Errorf("%s:%d may write to stdout: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
