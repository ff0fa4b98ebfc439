package prompt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBin makes a directory holding executables with the given names.
func fakeBin(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func withTTY() (*device, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &device{in: r, out: w}, nil
}

func noTTY() (*device, error) { return nil, errors.New("open /dev/tty: no such device or address") }

func TestChooseOrder(t *testing.T) {
	all := fakeBin(t, "ykman", "zenity", "kdialog", "osascript")
	none := t.TempDir()
	x11 := []string{"PATH=" + all, "DISPLAY=:0"}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"token beats everything", Options{Token: "123456", Process: "echo 1", Driver: "ykman", Env: x11, open: withTTY}, "mfa-token"},
		{"mfa_process beats --prompt", Options{Process: "echo 123456", Driver: "ykman", Env: x11, open: withTTY}, "mfa_process"},
		{"--prompt beats the terminal", Options{Driver: "zenity", Env: x11, open: withTTY}, "zenity"},
		{"--prompt terminal", Options{Driver: "terminal", Env: x11, open: withTTY}, "terminal"},
		{"--prompt is case-insensitive", Options{Driver: "YKman", Env: x11, open: withTTY}, "ykman"},
		{"terminal beats GUI", Options{Env: x11, open: withTTY}, "terminal"},
		{"zenity without a terminal", Options{Env: x11, open: noTTY}, "zenity"},
		{"wayland counts as a display", Options{Env: []string{"PATH=" + all, "WAYLAND_DISPLAY=wayland-0"}, open: noTTY}, "zenity"},
		{"kdialog first on KDE", Options{Env: append(x11, "XDG_CURRENT_DESKTOP=KDE"), open: noTTY}, "kdialog"},
		{"kdialog when zenity is missing", Options{Env: []string{"PATH=" + fakeBin(t, "kdialog"), "DISPLAY=:0"}, open: noTTY}, "kdialog"},
		{"no display, no GUI", Options{Env: []string{"PATH=" + all}, open: noTTY}, "none"},
		{"display but no dialog program", Options{Env: []string{"PATH=" + none, "DISPLAY=:0"}, open: noTTY}, "none"},
		{"osascript on macOS", Options{Env: []string{"PATH=" + all}, open: noTTY, goos: "darwin"}, "osascript"},
		{"osascript is not a Linux driver", Options{Env: x11, open: noTTY, goos: "linux", Driver: "osascript"}, "none"},
		{"zenity is not used on macOS", Options{Env: []string{"PATH=" + fakeBin(t, "zenity"), "DISPLAY=:0"}, open: noTTY, goos: "darwin"}, "none"},
		{"wincredui only in a Windows build", Options{Env: x11, open: noTTY, goos: "windows"}, map[bool]string{true: "wincredui", false: "none"}[winCredUIBuilt]},
		{"--prompt names a missing program", Options{Driver: "ykman", Env: []string{"PATH=" + none}, open: withTTY}, "none"},
		{"--prompt terminal without one", Options{Driver: "terminal", Env: x11, open: noTTY}, "none"},
		{"relative PATH entries are ignored", Options{Env: []string{"PATH=.:" + none, "DISPLAY=:0"}, open: noTTY}, "none"},
	} {
		if strings.HasPrefix(tc.name, "relative") {
			t.Chdir(all)
		}
		src, err := Choose(tc.opts)
		if err != nil {
			t.Errorf("%s: Choose error %v", tc.name, err)
			continue
		}
		if src.Name != tc.want {
			t.Errorf("%s: Choose picked %q, want %q", tc.name, src.Name, tc.want)
		}
		if src.Func == nil {
			t.Errorf("%s: nil Func", tc.name)
		}
	}
}

func TestChooseInteractive(t *testing.T) {
	bin := fakeBin(t, "ykman", "zenity", "kdialog")
	want := map[string]bool{"terminal": true, "zenity": true, "kdialog": true, "ykman": false}
	for name, interactive := range want {
		src, err := Driver(name, Options{Env: []string{"PATH=" + bin}, open: withTTY})
		if err != nil {
			t.Fatalf("Driver(%s): %v", name, err)
		}
		if src.Interactive != interactive {
			t.Errorf("%s: Interactive = %v, want %v", name, src.Interactive, interactive)
		}
	}
	p, _ := Choose(Options{Process: "true"})
	if p.Interactive {
		t.Error("mfa_process is interactive")
	}
}

func TestChooseErrors(t *testing.T) {
	_, err := Choose(Options{Driver: "pinentry"})
	if err == nil {
		t.Fatal("unknown driver accepted")
	}
	for _, d := range Drivers() {
		if !strings.Contains(err.Error(), d) {
			t.Errorf("error %q does not list %s", err, d)
		}
	}
	if _, err := Choose(Options{Token: "12345"}); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("malformed --mfa-token: err = %v", err)
	}
	if _, err := Driver("ykman", Options{Env: []string{"PATH=" + t.TempDir()}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Driver(ykman) without ykman: err = %v, want ErrUnavailable", err)
	}
}

// With nothing to ask, choosing succeeds (a cached session needs no code)
// and asking fails, saying how to give a code.
func TestNothingCanAsk(t *testing.T) {
	src, err := Choose(Options{Env: []string{"PATH=" + t.TempDir()}, open: noTTY})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Func(context.Background(), serial)
	want := "no terminal to ask for the MFA code for " + serial + ": pass --mfa-token, set mfa_process in the profile, or --prompt=zenity|kdialog|osascript|ykman"
	if !errors.Is(err, ErrNoPrompt) || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %q", err, want)
	}

	src, _ = Choose(Options{Driver: "ykman", Env: []string{"PATH=" + t.TempDir()}, open: noTTY})
	_, err = src.Func(context.Background(), serial)
	if !errors.Is(err, ErrNoPrompt) || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "--prompt=ykman") || !strings.Contains(err.Error(), serial) {
		t.Errorf("--prompt=ykman without ykman: err = %v", err)
	}
}

func TestEnvironGet(t *testing.T) {
	e := environ{"A=1", "B=x=y", "A=2", "broken"}
	if e.get("A") != "2" || e.get("B") != "x=y" || e.get("C") != "" || e.get("broken") != "" {
		t.Errorf("get: A=%q B=%q C=%q", e.get("A"), e.get("B"), e.get("C"))
	}
}
