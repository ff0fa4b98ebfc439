package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// AddProfileToConfig writes keys into the profile's section of the config
// file at path ("[profile NAME]", or "[default]"), for `add --add-config`.
// It edits the text rather than re-serialising the file through ini.v1, so
// every other line — comments, ordering, spacing, sections we do not
// understand — stays byte for byte as it was. Existing keys of the section
// are updated in place; new ones are added after the section's last key; a
// missing section is appended. A missing file is created 0600 in a 0700
// directory. The write is atomic (temp file + rename) so a crash never
// leaves half a config.
func AddProfileToConfig(path, name string, keys map[string]string) error {
	if err := checkWritable(name, keys); err != nil {
		return err
	}
	data, mode, err := readForEdit(path)
	if err != nil {
		return err
	}
	out := upsertSection(data, name, keys)
	return writeAtomic(path, out, mode)
}

// readForEdit reads the config file a command is about to rewrite, and the
// mode the new file keeps. A missing file is empty, its directory created
// 0700 and the new file's mode 0600.
func readForEdit(path string) ([]byte, fs.FileMode, error) {
	data, err := os.ReadFile(path)
	mode := fs.FileMode(0o600)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, 0, &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
				Msg: "cannot create the directory: " + unwrapPathError(err), Advice: "create it yourself, or set AWS_CONFIG_FILE"}
		}
	case err != nil:
		return nil, 0, &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
			Msg: "cannot read the file: " + unwrapPathError(err), Advice: fmt.Sprintf("check its permissions: chmod 600 %s", path)}
	default:
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
	}
	return data, mode, nil
}

// checkWritable refuses names and values that would change the file's
// structure: a newline or a ']' would start a new line or close the header.
func checkWritable(name string, keys map[string]string) error {
	bad := func(what, s string) error {
		return &ConfigError{Kind: ErrInvalidValue, Profile: name,
			Msg: fmt.Sprintf("%s %q cannot be written to the config file", what, s), Advice: "remove line breaks (and ']' in profile names)"}
	}
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "[]\r\n") || strings.TrimSpace(name) != name {
		return bad("profile name", name)
	}
	for k, v := range keys {
		if k == "" || strings.ContainsAny(k, "=:[]\r\n \t#;") {
			return bad("key", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return bad("value of "+k, v)
		}
	}
	return nil
}

func upsertSection(data []byte, name string, keys map[string]string) []byte {
	header := "[profile " + name + "]"
	if name == defaultProfile {
		header = "[default]"
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)

	lines := splitLinesKeepEnds(data)
	start, end := -1, len(lines) // the section's header line and the line after its last key
	lastKey := -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			if start >= 0 {
				end = i
				break
			}
			if j := strings.LastIndexByte(t, ']'); j > 0 {
				if k, n := classifySection(t[1:j], false); k == sectionProfile && n == name {
					start = i
				}
			}
			continue
		}
		if start >= 0 && t != "" && t[0] != '#' && t[0] != ';' {
			lastKey = i
		}
	}
	newline := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		newline = "\r\n"
	}
	if start < 0 {
		var b strings.Builder
		b.Write(data)
		if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
			b.WriteString(newline)
		}
		if len(data) > 0 {
			b.WriteString(newline)
		}
		b.WriteString(header + newline)
		for _, k := range names {
			b.WriteString(k + " = " + keys[k] + newline)
		}
		return []byte(b.String())
	}

	done := make(map[string]bool, len(keys))
	for i := start + 1; i < end; i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		j := strings.IndexAny(t, "=:")
		if j <= 0 {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(t[:j]))
		if v, ok := keys[k]; ok && !done[k] {
			indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			lines[i] = indent + k + " = " + v + lineEnding(lines[i], newline)
			done[k] = true
		}
	}
	var add []string
	for _, k := range names {
		if !done[k] {
			add = append(add, k+" = "+keys[k]+newline)
		}
	}
	insertAt := start + 1
	if lastKey >= 0 {
		insertAt = lastKey + 1
		if !strings.HasSuffix(lines[lastKey], "\n") {
			lines[lastKey] += newline
		}
	} else if !strings.HasSuffix(lines[start], "\n") {
		lines[start] += newline
	}
	out := append([]string{}, lines[:insertAt]...)
	out = append(out, add...)
	out = append(out, lines[insertAt:]...)
	return []byte(strings.Join(out, ""))
}

func splitLinesKeepEnds(data []byte) []string {
	var lines []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, string(data))
			break
		}
		lines = append(lines, string(data[:i+1]))
		data = data[i+1:]
	}
	return lines
}

func lineEnding(line, def string) string {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(line, "\n"):
		return "\n"
	}
	return ""
}

// writeAtomic replaces path with data via a temp file in the same directory,
// so readers see the old file or the new one, never a mix.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	fail := func(err error) error {
		return &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
			Msg: "cannot write the file: " + unwrapPathError(err), Advice: "check that you can write to " + filepath.Dir(path)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
	}
	return nil
}
