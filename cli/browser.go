package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"

	"github.com/pkg/browser"
)

// browserMu guards pkg/browser's package-level output streams.
var browserMu sync.Mutex

// openBrowser runs the system's opener (xdg-open, …) on u. Its output never
// reaches the terminal: openers print pages of noise (and the URL) when no
// browser is there. login and the IAM Identity Center sign-in both use it.
func openBrowser(u string) error {
	browserMu.Lock()
	defer browserMu.Unlock()
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(u)
}

// linuxOpeners are the programs pkg/browser tries on Linux, in its order.
var linuxOpeners = []string{"xdg-open", "x-www-browser", "www-browser"}

// browserOpener names the program openBrowser would run, or "" when none is
// installed, so a sign-in can pick its flow (and explain can say which)
// before anything is opened.
func browserOpener() string {
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
