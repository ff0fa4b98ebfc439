//go:build unix

package e2e

import (
	"bytes"
	"errors"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptWhileWaitingForSTS: Ctrl-C (SIGINT) or SIGTERM while rolevault
// waits for STS to answer ends it with one line naming that wait — not
// "context canceled" — and the status a shell expects (130, 143).
func TestInterruptWhileWaitingForSTS(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			w := newWorld(t)
			// An "STS" that takes the connection and never answers.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			must(t, err)
			t.Cleanup(func() { ln.Close() })
			accepted := make(chan net.Conn, 4)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			w.E.WriteConfig(t, strings.ReplaceAll(w.config(""), w.URL, "http://"+ln.Addr().String()))

			cmd := exec.Command(binary, "exec", "login", "--", "true")
			cmd.Env = w.E.Environ()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			must(t, cmd.Start())
			select {
			case c := <-accepted:
				defer c.Close()
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("rolevault never called STS; stderr: %s", stderr.String())
			}
			must(t, cmd.Process.Signal(tc.sig))
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("rolevault did not stop on %s", tc.sig)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Errorf("exit: %v, want status %d", err, tc.code)
			}
			want := `rolevault: interrupted while waiting for AWS STS to answer GetSessionToken for profile "login"` + "\n"
			if stderr.String() != want || stdout.Len() != 0 {
				t.Errorf("stderr %q, stdout %q; want stderr %q", stderr.String(), stdout.String(), want)
			}
		})
	}
}
