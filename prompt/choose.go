package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// drivers are the values --prompt (AWS_VAULT_PROMPT) accepts, in the order
// help text lists them.
var drivers = []string{"terminal", "ykman", "zenity", "kdialog", "osascript", "wincredui"}

// Drivers returns the names --prompt accepts.
func Drivers() []string { return append([]string(nil), drivers...) }

// Options are the inputs to Choose.
type Options struct {
	// Token is --mfa-token: one code given up front.
	Token string
	// Process is the mfa_process of the profile that holds mfa_serial.
	Process string
	// Driver is --prompt or AWS_VAULT_PROMPT; empty picks one.
	Driver string
	// Env is the environment the sources read (PATH, DISPLAY, YKMAN_*,
	// AWS_VAULT_YKMAN_VERSION) and give to the programs they run. Nil means
	// the process environment.
	Env []string
	// Stderr shows what ykman and mfa_process say (a touch request, an
	// error) when there is no terminal to show it on. Nil means os.Stderr.
	Stderr io.Writer

	// Test seams: the operating system whose drivers apply, and the
	// terminal device.
	goos string
	open func() (*device, error)
}

// system is Options resolved: what the sources touch outside the process.
type system struct {
	env    environ
	goos   string
	open   func() (*device, error)
	stderr io.Writer
}

func (o Options) system() system {
	s := system{env: o.Env, goos: o.goos, open: o.open, stderr: o.Stderr}
	if s.env == nil {
		s.env = os.Environ()
	}
	if s.goos == "" {
		s.goos = runtime.GOOS
	}
	if s.open == nil {
		s.open = openDevice
	}
	if s.stderr == nil {
		s.stderr = os.Stderr
	}
	return s
}

func (s system) hasTerminal() bool {
	d, err := s.open()
	if err != nil {
		return false
	}
	d.Close()
	return true
}

// Choose picks the source of MFA codes, first match wins:
//
//  1. Token (--mfa-token)
//  2. Process (the profile's mfa_process)
//  3. Driver (--prompt, AWS_VAULT_PROMPT)
//  4. the terminal, when one can be opened
//  5. a GUI dialog: osascript on macOS, wincredui on Windows, and zenity or
//     kdialog elsewhere when DISPLAY or WAYLAND_DISPLAY is set
//
// It fails only for input that is wrong whatever happens next: an unknown
// driver or a malformed token. When nothing can ask, or the named driver
// cannot run here, the source's Func fails instead (with ErrNoPrompt), so a
// command that finds a cached session needs no prompt at all.
//
// mfa_process belongs to a profile, so call Choose for each profile that
// needs a code; keep the Source for as long as its retry budget should last.
func Choose(o Options) (Source, error) {
	if o.Token != "" {
		return Fixed(o.Token)
	}
	sys := o.system()
	if strings.TrimSpace(o.Process) != "" {
		return processSource(o.Process, sys), nil
	}
	if o.Driver != "" {
		src, err := driver(o.Driver, sys)
		if errors.Is(err, ErrUnavailable) {
			return failing(func(serial string) error {
				return fmt.Errorf("%w: --prompt=%s cannot ask for the MFA code for %s here: %w", ErrNoPrompt, o.Driver, serial, err)
			}), nil
		}
		return src, err
	}
	if sys.hasTerminal() {
		return terminalSource(sys.open), nil
	}
	for _, name := range guiDrivers(sys) {
		if src, err := driver(name, sys); err == nil {
			return src, nil
		}
	}
	return failing(func(serial string) error {
		return fmt.Errorf("%w: no terminal to ask for the MFA code for %s: pass --mfa-token, set mfa_process in the profile, or --prompt=zenity|kdialog|osascript|ykman", ErrNoPrompt, serial)
	}), nil
}

// Driver builds the source --prompt=name selects. The error wraps
// ErrUnavailable when the driver cannot run here, and lists the valid names
// when name is not one of them.
func Driver(name string, o Options) (Source, error) { return driver(name, o.system()) }

func driver(name string, sys system) (Source, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "terminal":
		if !sys.hasTerminal() {
			return Source{}, fmt.Errorf("%w: terminal: %w", ErrUnavailable, ErrNoTerminal)
		}
		return terminalSource(sys.open), nil
	case "ykman":
		path, err := lookPath("ykman", sys.env)
		if err != nil {
			return Source{}, fmt.Errorf("%w: %w (install YubiKey Manager)", ErrUnavailable, err)
		}
		return ykmanSource(path, sys), nil
	case "zenity":
		path, err := lookPath("zenity", sys.env)
		if err != nil {
			return Source{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return zenitySource(path, sys), nil
	case "kdialog":
		path, err := lookPath("kdialog", sys.env)
		if err != nil {
			return Source{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return kdialogSource(path, sys), nil
	case "osascript":
		if sys.goos != "darwin" {
			return Source{}, fmt.Errorf("%w: osascript is macOS only", ErrUnavailable)
		}
		path, err := lookPath("osascript", sys.env)
		if err != nil {
			return Source{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return osascriptSource(path, sys), nil
	case "wincredui":
		if sys.goos != "windows" || !winCredUIBuilt {
			return Source{}, fmt.Errorf("%w: wincredui is Windows only", ErrUnavailable)
		}
		return interactive("wincredui", winCredUIAsk), nil
	}
	return Source{}, fmt.Errorf("unknown MFA prompt driver %q: valid drivers are %s", name, strings.Join(drivers, ", "))
}

// guiDrivers lists the dialog drivers worth trying on sys, best first.
func guiDrivers(sys system) []string {
	switch sys.goos {
	case "darwin":
		return []string{"osascript"}
	case "windows":
		return []string{"wincredui"}
	}
	if sys.env.get("DISPLAY") == "" && sys.env.get("WAYLAND_DISPLAY") == "" {
		return nil
	}
	// Each desktop's own dialog looks native and is the one most likely
	// installed; elsewhere zenity is the more common of the two.
	if strings.Contains(strings.ToUpper(sys.env.get("XDG_CURRENT_DESKTOP")), "KDE") {
		return []string{"kdialog", "zenity"}
	}
	return []string{"zenity", "kdialog"}
}

// failing is the source used when nothing can ask: every ask fails with
// the error errFor builds for the serial asked for.
func failing(errFor func(mfaSerial string) error) Source {
	return Source{Name: "none", Func: func(_ context.Context, mfaSerial string) (string, error) {
		return "", errFor(mfaSerial)
	}}
}

// Fixed is the source for --mfa-token: the code is checked now, since a
// malformed one is a mistake on the command line that no prompt can fix.
func Fixed(code string) (Source, error) {
	c, err := ValidateCode(code)
	if err != nil {
		return Source{}, fmt.Errorf("--mfa-token: %w", err)
	}
	return Source{Name: "mfa-token", Func: func(context.Context, string) (string, error) { return c, nil }}, nil
}
