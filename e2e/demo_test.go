package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoStreamsAndCleansUp runs `make demo`'s script and interrupts it in
// its long-job part, once as Ctrl-C does (SIGINT to the whole process group)
// and once as a supervisor does (SIGTERM to the script alone). It checks
// that the commands are printed with their quotes, that the job's output
// arrives while the job still runs (not all at once when it ends), and that
// after the signal no process of the demo is left and its temporary
// directory is gone.
func TestDemoStreamsAndCleansUp(t *testing.T) {
	skipIfE2EOff(t)
	if runtime.GOOS != "linux" {
		t.Skip("the check for left-over processes reads /proc")
	}
	requireTool(t, "bash", "bash")
	requireTool(t, "mkfifo", "coreutils")
	for _, tc := range []struct {
		name  string
		group bool
		sig   syscall.Signal
	}{
		{"ctrl-c", true, syscall.SIGINT},
		{"sigterm", false, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			cmd := exec.Command("bash", filepath.Join("..", "scripts", "demo.sh"), binary)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "NO_COLOR=1")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stdout, err := cmd.StdoutPipe()
			must(t, err)
			cmd.Stderr = cmd.Stdout
			must(t, cmd.Start())
			done := make(chan error, 1)
			var seen strings.Builder
			lines := make(chan string)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
				io.Copy(io.Discard, stdout)
				done <- cmd.Wait()
			}()
			t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

			deadline := time.After(3 * time.Minute)
			quoted := false
		read:
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("the demo ended before its long job printed a call:\n%s", seen.String())
					}
					seen.WriteString(l + "\n")
					if strings.HasPrefix(l, `$ rolevault exec prod -- sh -c 'echo "child sees AWS_VAULT=$AWS_VAULT region=$AWS_REGION`) {
						quoted = true
					}
					if strings.HasPrefix(l, "  call  1 ") {
						break read
					}
				case <-deadline:
					t.Fatalf("no call of the long job within 3 minutes:\n%s", seen.String())
				}
			}
			if !quoted {
				t.Errorf("the exec prod command was not printed with its quotes:\n%s", seen.String())
			}
			if procs := processesMentioning(tmp); !containsAny(procs, "/sdkcaller") {
				t.Errorf("the first call was printed but the job is not running any more (output held back until it ended?); demo processes: %q", procs)
			}

			pid := cmd.Process.Pid
			if tc.group {
				pid = -pid
			}
			must(t, syscall.Kill(pid, tc.sig))
			go func() {
				for range lines {
				}
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("the demo did not end within a minute of %v", tc.sig)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				var names []string
				for _, e := range left {
					names = append(names, e.Name())
				}
				t.Errorf("after %v the demo left %v in TMPDIR", tc.sig, names)
			}
			if procs := processesMentioning(tmp); len(procs) > 0 {
				t.Errorf("after %v these demo processes are still running: %q", tc.sig, procs)
			}
		})
	}
}

// processesMentioning lists the command lines of running processes whose
// executable or arguments contain s.
func processesMentioning(s string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		line := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
		if strings.Contains(line, s) || strings.Contains(exe, s) {
			out = append(out, line)
		}
	}
	return out
}

func containsAny(list []string, sub string) bool {
	for _, l := range list {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// TestDemoEndsWithPolicyAndDoctor runs `make demo`'s script to its end: it
// prints the policies of the demo config, a doctor run that passes, and
// one that finds the qa role's missing trust statement — and the demo
// still exits 0.
func TestDemoEndsWithPolicyAndDoctor(t *testing.T) {
	skipIfE2EOff(t)
	requireTool(t, "bash", "bash")
	requireTool(t, "mkfifo", "coreutils")
	tmp := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "demo.sh"), binary)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the demo failed (%v):\n%s", err, out)
	}
	s := string(out)
	_, tail, ok := strings.Cut(s, "\n$ rolevault policy --all\n")
	if !ok {
		t.Fatalf("the demo does not run policy --all:\n%s", s)
	}
	for _, want := range []string{
		`"role_arn": "arn:aws:iam::555555555555:role/developer"`,
		"$ rolevault doctor prod\n", "every step works",
		"$ rolevault doctor qa\n",
		"fail  step 2      AssumeRole arn:aws:iam::555555555555:role/developer for profile qa is refused",
		"the role's trust policy is what is missing",
		"statement for the trust policy of the role arn:aws:iam::555555555555:role/developer",
		`"AWS": "arn:aws:iam::111111111111:root"`,
		"doctor exited 1, as expected",
	} {
		if !strings.Contains(tail, want) {
			t.Errorf("the demo's end lacks %q:\n%s", want, tail)
		}
	}
	if strings.Contains(s, "demoALICEsecretKEY") {
		t.Error("the demo printed alice's secret")
	}
}
