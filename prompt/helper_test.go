package prompt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
)

// helperEnv makes the test binary act as a small program that uses this
// package the way rolevault does, so tests can run it on a real terminal.
const helperEnv = "ROLEVAULT_PROMPT_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper prints its result on stdout, the stream a credential_process
// reader parses, so a test can check that nothing else landed there.
func runHelper(mode string) int {
	if f := os.Getenv("ROLEVAULT_PROMPT_PIDFILE"); f != "" {
		// For tests that signal the helper at a prompt.
		if err := os.WriteFile(f, []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
	}
	ctx := context.Background()
	var out string
	var err error
	switch mode {
	case "mfa":
		out, err = Terminal().Func(ctx, serial)
		out = "code=" + out
	case "mfa-retry":
		src := Terminal()
		var c1, c2 string
		if c1, err = src.Func(ctx, serial); err == nil {
			if !src.Rejected(serial, errors.New("api error AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code.")) {
				err = errors.New("Rejected said not to ask again")
			} else {
				c2, err = src.Func(ctx, serial)
			}
		}
		out = "codes=" + c1 + "," + c2
	case "secret":
		out, err = ReadSecretFor("the file keyring passphrase", "Passphrase for the file keyring: ")
		out = "secret=" + out
	case "confirm":
		var yes bool
		yes, err = Confirm(`Delete credentials for profile "dev"?`)
		out = fmt.Sprint("yes=", yes)
	case "choose":
		var src Source
		if src, err = Choose(Options{}); err == nil {
			out, err = src.Func(ctx, serial)
			out = "source=" + src.Name + " code=" + out
		}
	case "process":
		var src Source
		src, err = Choose(Options{Process: `printf 'Touch your key, then type the code: ' >&2; read c; echo "$c"`})
		if err == nil {
			out, err = src.Func(ctx, serial)
			out = "code=" + out
		}
	case "available":
		out = fmt.Sprint("available=", TerminalAvailable())
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var ie *InterruptedError
		if errors.As(err, &ie) {
			return ie.ExitCode()
		}
		return 1
	}
	fmt.Fprintln(os.Stdout, out)
	return 0
}
