package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestLinuxBuildIsStatic: on Linux `make build`, and the harness that builds
// the binary every end-to-end test and benchmark runs, produce a static
// binary (CGO_ENABLED=0; docs/performance.md): no ELF interpreter, so no
// dynamic loader or libc at start. A CGO_ENABLED the caller sets wins, so
// the test runs only without one.
func TestLinuxBuildIsStatic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the static build is Linux's; macOS keeps cgo for the Keychain")
	}
	if _, set := os.LookupEnv("CGO_ENABLED"); set {
		t.Skip("CGO_ENABLED is set, and wins over the Makefile's and the harness's default")
	}
	requireTool(t, "make", "make")
	made := filepath.Join(t.TempDir(), "rolevault")
	cmd := exec.Command("make", "build", "BIN="+made)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	for name, bin := range map[string]string{"make build": made, "the e2e harness": binary} {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		interp := slices.IndexFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
		f.Close()
		if interp >= 0 {
			t.Errorf("%s built a dynamically linked binary (it has an ELF interpreter); want CGO_ENABLED=0 on Linux", name)
		}
	}
	out, err := exec.Command(made, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "rolevault ") {
		t.Fatalf("the static binary's --version: %v\n%s", err, out)
	}
}
