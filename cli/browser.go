package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pkg/browser"
)

// browserMu guards pkg/browser's package-level output streams.
var browserMu sync.Mutex

// openBrowser runs the browser named by $BROWSER, else the system's opener
// (xdg-open, …), on u. Its output never reaches the terminal: openers print
// pages of noise (and the URL) when no browser is there. login and the IAM
// Identity Center sign-in both use it.
func openBrowser(u string) error {
	if cmds := browserEnv(); len(cmds) > 0 {
		return runBrowserEnv(cmds, u)
	}
	browserMu.Lock()
	defer browserMu.Unlock()
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(u)
}

// browserEnv reads $BROWSER, the convention Python's webbrowser module (and
// so the AWS CLI), xdg-open and many other tools honour: commands separated
// by the path list separator, tried in order; "%s" in a command stands for
// the URL, else the URL is its last argument. No shell is involved: a
// command is split at blanks.
func browserEnv() [][]string {
	v, _ := lookupEnv("BROWSER")
	var cmds [][]string
	for _, entry := range strings.Split(v, string(os.PathListSeparator)) {
		if f := strings.Fields(entry); len(f) > 0 {
			cmds = append(cmds, f)
		}
	}
	return cmds
}

// browserStartWait is how long a $BROWSER command may take to say it failed
// (exit non-zero). One still running then has opened a window of its own,
// as a browser started in the foreground does, and is left running.
const browserStartWait = 2 * time.Second

// runBrowserEnv starts the first $BROWSER command that works on u.
func runBrowserEnv(cmds [][]string, u string) error {
	var errs []string
	for _, c := range cmds {
		args, substituted := make([]string, 0, len(c)+1), false
		for _, a := range c[1:] {
			if strings.Contains(a, "%s") {
				a, substituted = strings.ReplaceAll(a, "%s", u), true
			}
			args = append(args, strings.ReplaceAll(a, "%%", "%"))
		}
		if !substituted {
			args = append(args, u)
		}
		cmd := exec.Command(c[0], args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil // /dev/null: never the terminal
		if err := cmd.Start(); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", c[0], err))
			continue
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				return nil
			}
			errs = append(errs, fmt.Sprintf("%s: %v", c[0], err))
		case <-time.After(browserStartWait):
			return nil
		}
	}
	return &browserEnvError{msg: "the browser in $BROWSER failed (" + strings.Join(errs, "; ") + ")"}
}

// browserEnvError is a $BROWSER that could not open the URL.
type browserEnvError struct{ msg string }

func (e *browserEnvError) Error() string { return e.msg }

// linuxOpeners are the programs pkg/browser tries on Linux, in its order.
var linuxOpeners = []string{"xdg-open", "x-www-browser", "www-browser"}

// browserOpener names the program openBrowser would run, or "" when none is
// installed, so a sign-in can pick its flow (and explain can say which)
// before anything is opened.
func browserOpener() string {
	if cmds := browserEnv(); len(cmds) > 0 {
		for _, c := range cmds {
			if _, err := exec.LookPath(c[0]); err == nil {
				return c[0] + " (from $BROWSER)"
			}
		}
		return ""
	}
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		for _, p := range linuxOpeners {
			if _, err := exec.LookPath(p); err == nil {
				return p
			}
		}
		return ""
	case "darwin":
		return "open"
	case "windows":
		return "rundll32 url.dll"
	}
	return ""
}

// openerFailure says why the browser could not be opened.
func openerFailure(err error) string {
	var be *browserEnvError
	if errors.As(err, &be) {
		return "could not open a browser: " + be.msg
	}
	var ee *exec.Error
	if errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound) {
		return "no program to open a browser was found (xdg-open, x-www-browser or www-browser)"
	}
	name := "the browser opener"
	if runtime.GOOS == "linux" {
		if p := browserOpener(); p != "" {
			name = p // the one pkg/browser ran: the first found
		}
	}
	return fmt.Sprintf("could not open a browser (%s failed: %v)", name, err)
}

// openBrowserExplained is openBrowser with openerFailure's sentence as the
// error, for the IAM Identity Center sign-in to print.
func openBrowserExplained(u string) error {
	if err := openBrowser(u); err != nil {
		return errors.New(openerFailure(err))
	}
	return nil
}

// tellPerson writes a line for the person at the terminal device, else on
// stderr: never on stdout, which may be a credential_process document.
func (g *Globals) tellPerson(msg string) {
	name := "/dev/tty"
	if runtime.GOOS == "windows" {
		name = "CONOUT$"
	}
	if f, err := os.OpenFile(name, os.O_WRONLY, 0); err == nil {
		_, werr := fmt.Fprintln(f, msg)
		f.Close()
		if werr == nil {
			return
		}
	}
	fmt.Fprintln(g.streams.Err, msg)
}
