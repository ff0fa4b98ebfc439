// Reading the config files: a bounded read of regular files only, and parse errors that name the line.

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"gopkg.in/ini.v1"
)

// MaxConfigFileSize is the largest config or credentials file rolevault
// reads: a config of 100,000 profiles is about 10 MiB, and a bound keeps a
// file named by mistake (a log, /dev/zero) from using all memory.
const MaxConfigFileSize = 16 << 20

var (
	errTooLarge = errors.New("too large")
)

// ReadBounded reads a regular file (or the null device, which people name
// to mean "no config") of at most limit bytes. It checks before opening, so
// a FIFO is never opened (that would wait for a writer), and again on the
// open file, and reads at most limit+1 bytes whatever the file claims.
func ReadBounded(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		if st.IsDir() {
			return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("is a directory")}
		}
		if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(st, null) {
			return nil, nil
		}
		return nil, ErrNotRegular
	}
	if st.Size() > limit {
		return nil, errTooLarge
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// readFile reads a config file; a missing one reads as empty.
func readFile(path string) ([]byte, error) {
	data, err := ReadBounded(path, MaxConfigFileSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, ErrNotRegular):
		return nil, &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
			Msg:    "not a regular file (a pipe, a device or a socket), so it is not read",
			Advice: "point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a regular file (or /dev/null for none)"}
	case errors.Is(err, errTooLarge):
		return nil, &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
			Msg:    fmt.Sprintf("larger than %d MiB, which no AWS config is", MaxConfigFileSize>>20),
			Advice: "point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at your AWS config file"}
	case errors.Is(err, fs.ErrPermission):
		return nil, &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
			Msg:    "cannot read the file: permission denied",
			Advice: fmt.Sprintf("make it readable by you: chmod 600 %s (and check you own it)", path)}
	case err != nil:
		return nil, &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
			Msg:    "cannot read the file: " + unwrapPathError(err),
			Advice: "point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a readable file"}
	}
	return data, nil
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// malformedError turns an ini.v1 parse error into one that names the line.
// ini.v1 quotes the offending line but not its number, so we find it.
func malformedError(path string, data []byte, err error) error {
	var offending, what string
	var dnf ini.ErrDelimiterNotFound
	var ekn ini.ErrEmptyKeyName
	msg := err.Error()
	switch {
	case errors.As(err, &dnf):
		offending, what = dnf.Line, "expected `key = value` or a [section] header"
	case errors.As(err, &ekn):
		offending, what = ekn.Line, "a key name is missing before '='"
	case strings.HasPrefix(msg, "unclosed section: "):
		offending, what = strings.TrimPrefix(msg, "unclosed section: "), "section header has no closing ']'"
	case strings.HasPrefix(msg, "missing closing key quote"):
		offending, what = "", "a quoted key name has no closing quote"
	case strings.Contains(msg, "empty section name"):
		offending, what = "[]", "empty section name"
	default:
		what = clip(msg)
	}
	line := 0
	if offending != "" {
		line = findLine(data, strings.TrimSpace(offending))
	}
	e := &ConfigError{Kind: ErrMalformedConfig, File: path, Line: line, Err: err,
		Msg:    "cannot parse: " + what,
		Advice: "fix or comment out that line (lines look like `[profile NAME]` or `key = value`)"}
	if line > 0 {
		e.Msg += fmt.Sprintf(": %q", clipTo(strings.TrimSpace(offending), maxQuotedLine))
	}
	return e
}

// findLine returns the 1-based number of the first line whose trimmed text is
// want, or 0.
func findLine(data []byte, want string) int {
	n := 0
	for len(data) > 0 {
		n++
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if string(bytes.TrimSpace(line)) == want {
			return n
		}
	}
	return 0
}

// ErrNotRegular is ReadBounded's error for a path that is a pipe, a device
// or a socket: such a file is never opened, so reading cannot block.
var ErrNotRegular = errors.New("not a regular file")
