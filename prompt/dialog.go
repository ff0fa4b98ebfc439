package prompt

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// dialogTitle and dialogText match aws-vault's dialogs, so people who
// switch binaries see the prompt they know.
const dialogTitle = "aws-vault"

func dialogText(mfaSerial, note string) string {
	text := fmt.Sprintf("Enter token for %s: ", mfaSerial)
	if note != "" {
		text = note + "\n\n" + text
	}
	return text
}

// The dialog programs run with no stdin and their stderr captured, not
// shown: toolkits print warnings there that mean nothing to the person.
// The serial reaches them only as part of the dialog text argument, never
// through a shell.

// zenitySource asks with `zenity --entry`, which prints the answer and
// exits 1 when the person cancels.
func zenitySource(path string, sys system) Source {
	return interactive("zenity", func(ctx context.Context, mfaSerial, note string) (string, error) {
		// --text is Pango markup: escape so an '&' in a note cannot break it.
		text := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(dialogText(mfaSerial, note))
		return runDialog(ctx, "zenity", sys, exec.CommandContext(ctx, path,
			"--entry", "--title", dialogTitle, "--text", text))
	})
}

// kdialogSource asks with `kdialog --inputbox`, which behaves like zenity.
func kdialogSource(path string, sys system) Source {
	return interactive("kdialog", func(ctx context.Context, mfaSerial, note string) (string, error) {
		return runDialog(ctx, "kdialog", sys, exec.CommandContext(ctx, path,
			"--inputbox", dialogText(mfaSerial, note), "--title", dialogTitle))
	})
}

// osascriptSource asks with an AppleScript `display dialog`. The text goes
// in as an argument of the run handler, never spliced into the script, so a
// quote in it cannot turn into AppleScript.
func osascriptSource(path string, sys system) Source {
	return interactive("osascript", func(ctx context.Context, mfaSerial, note string) (string, error) {
		cmd := exec.CommandContext(ctx, path,
			"-e", "on run argv",
			"-e", `display dialog (item 1 of argv) default answer "" with title "`+dialogTitle+`" buttons {"Cancel", "OK"} default button "OK" cancel button "Cancel"`,
			"-e", "end run",
			dialogText(mfaSerial, note))
		out, err := runDialog(ctx, "osascript", sys, cmd)
		if err != nil {
			return "", err
		}
		return osascriptAnswer(out), nil
	})
}

// osascriptAnswer picks the text out of the dialog's result record, which
// osascript prints as "button returned:OK, text returned:123456". The text
// is the last field, so everything after its label is the answer.
func osascriptAnswer(out string) string {
	out = strings.TrimRight(out, "\r\n")
	if _, after, ok := strings.Cut(out, "text returned:"); ok {
		return after
	}
	return out
}

// runDialog runs a dialog program and returns what it printed. Exit status
// 1 is the Cancel button for zenity and kdialog; osascript reports Cancel as
// AppleScript error -128 on stderr.
func runDialog(ctx context.Context, name string, sys system, cmd *exec.Cmd) (string, error) {
	cmd.Env = sys.env
	res, err := runProgram(ctx, cmd, nil)
	if err == nil {
		return res.stdout, nil
	}
	if ctx.Err() == nil && canceledDialog(name, res, err) {
		return "", fmt.Errorf("%w: %s dialog closed without a code", ErrCanceled, name)
	}
	return "", programError(name, res, err)
}

func canceledDialog(name string, res programResult, err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	if name == "osascript" {
		return strings.Contains(res.stderr, "(-128)")
	}
	return ee.ExitCode() == 1 && strings.TrimSpace(res.stdout) == ""
}
