package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"gopkg.in/ini.v1"
)

// LoadOptions say where the AWS config lives. Empty paths mean what the AWS
// CLI means: $AWS_CONFIG_FILE or ~/.aws/config, and
// $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials. LookupEnv is how the
// environment is read (nil means os.LookupEnv), so tests never touch the
// process environment.
type LoadOptions struct {
	ConfigFile      string
	CredentialsFile string
	LookupEnv       func(string) (string, bool)
}

// Config is the parsed config and credentials files. It is read once by
// LoadConfig and is read-only afterwards; Resolve does no I/O.
type Config struct {
	// Warnings are problems that do not stop anything (an ignored section,
	// keys before the first section); the CLI prints them to stderr.
	Warnings []string

	config      iniFile
	credentials iniFile

	profiles    map[string]*profileSections
	ssoSessions map[string]*ini.Section
	lookupEnv   func(string) (string, bool)

	namesOnce sync.Once
	names     []string
}

// iniFile is one parsed file plus its raw bytes: ini.v1 does not keep line
// numbers, so errors find them in the source when (and only when) needed.
type iniFile struct {
	path string
	data []byte
	file *ini.File
}

// profileSections are the sections that define one profile. The credentials
// file wins on a key both define, as in botocore.
type profileSections struct {
	config      *ini.Section
	credentials *ini.Section
}

const defaultProfile = "default"

// LoadConfig reads and parses the config and credentials files. A file that
// does not exist is an empty file, not an error: many people have only one of
// the two, and `rolevault add` works before either exists.
func LoadConfig(opts LoadOptions) (*Config, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfgPath, err := configFilePath(opts.ConfigFile, "AWS_CONFIG_FILE", "config", lookup)
	if err != nil {
		return nil, err
	}
	credPath, err := configFilePath(opts.CredentialsFile, "AWS_SHARED_CREDENTIALS_FILE", "credentials", lookup)
	if err != nil {
		return nil, err
	}
	c := &Config{
		lookupEnv:   lookup,
		profiles:    make(map[string]*profileSections),
		ssoSessions: make(map[string]*ini.Section),
	}
	if c.config, err = readINI(cfgPath); err != nil {
		return nil, err
	}
	if c.credentials, err = readINI(credPath); err != nil {
		return nil, err
	}
	c.index()
	return c, nil
}

// configFilePath applies the AWS CLI's rules: an explicit path, else the
// environment variable (with ~ expanded, as the CLI does), else ~/.aws/<name>.
func configFilePath(explicit, envVar, name string, lookup func(string) (string, bool)) (string, error) {
	p := explicit
	if p == "" {
		if v, ok := lookup(envVar); ok && v != "" {
			p = v
		}
	}
	if p != "" && p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home := ""
	if h, ok := lookup("HOME"); ok && h != "" {
		home = h
	} else if h, err := os.UserHomeDir(); err == nil {
		home = h
	}
	if home == "" {
		return "", &ConfigError{Kind: ErrUnreadableConfig, Key: envVar,
			Msg:    "cannot find the home directory to locate ~/.aws/" + name,
			Advice: "set HOME, or set " + envVar + " to the file's path"}
	}
	if p == "" {
		return filepath.Join(home, ".aws", name), nil
	}
	return filepath.Join(home, strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/")), nil
}

// iniLoadOptions are the parser settings for both files, chosen to read what
// botocore reads: keys are case-insensitive (aws-vault lowercases them too),
// section names are not (profile names are case-sensitive), nested values
// ("s3 =\n  max_concurrent_requests = 20") are allowed, and a '#' or ';' is
// a comment only at the start of a line or after a space, so a
// credential_process command like `cmd --flag=a#b` survives.
var iniLoadOptions = ini.LoadOptions{
	Insensitive:              false,
	InsensitiveKeys:          true,
	AllowNestedValues:        true,
	SpaceBeforeInlineComment: true,
	// ini.v1 otherwise treats "[profile a.b]" as a child of "[profile a]"
	// and lets it inherit keys; NUL cannot occur in a section name.
	ChildSectionDelimiter: "\x00",
}

func readINI(path string) (iniFile, error) {
	f := iniFile{path: path}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.file = ini.Empty(iniLoadOptions)
		return f, nil
	case errors.Is(err, fs.ErrPermission):
		return f, &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
			Msg:    "cannot read the file: permission denied",
			Advice: fmt.Sprintf("make it readable by you: chmod 600 %s (and check you own it)", path)}
	case err != nil:
		return f, &ConfigError{Kind: ErrUnreadableConfig, File: path, Err: err,
			Msg:    "cannot read the file: " + unwrapPathError(err),
			Advice: "point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a readable file"}
	}
	f.data = data
	f.file, err = ini.LoadSources(iniLoadOptions, data)
	if err != nil {
		return f, malformedError(path, data, err)
	}
	// We only read after loading, and never concurrently with a write, so
	// ini.v1's per-access locking is pure overhead.
	f.file.BlockMode = false
	return f, nil
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
		what = msg
	}
	line := 0
	if offending != "" {
		line = findLine(data, strings.TrimSpace(offending))
	}
	e := &ConfigError{Kind: ErrMalformedConfig, File: path, Line: line, Err: err,
		Msg:    "cannot parse: " + what,
		Advice: "fix or comment out that line (lines look like `[profile NAME]` or `key = value`)"}
	if line > 0 {
		e.Msg += fmt.Sprintf(": %q", truncate(strings.TrimSpace(offending), 60))
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
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

// sectionKind classifies a section header as the AWS CLI does.
type sectionKind int

const (
	sectionOther sectionKind = iota
	sectionProfile
	sectionSSOSession
)

// classifySection maps a section name to what it defines. In the config file
// profiles are "[profile NAME]" or "[default]"; in the credentials file they
// are "[NAME]" (the native form), and we also accept "[profile NAME]" there
// because people copy sections between the two files.
func classifySection(raw string, credentialsFile bool) (sectionKind, string) {
	name := strings.TrimSpace(raw)
	if rest, ok := cutWord(name, "profile"); ok {
		return sectionProfile, unquote(rest)
	}
	if rest, ok := cutWord(name, "sso-session"); ok && !credentialsFile {
		return sectionSSOSession, unquote(rest)
	}
	if name == defaultProfile || credentialsFile {
		if name == "" || name == ini.DefaultSection {
			return sectionOther, ""
		}
		return sectionProfile, name
	}
	return sectionOther, name
}

// cutWord reports the rest of s after word and at least one blank.
func cutWord(s, word string) (string, bool) {
	rest, ok := strings.CutPrefix(s, word)
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	return rest, rest != ""
}

// unquote strips one pair of surrounding quotes, which botocore's shlex-based
// parsing of "[profile "my name"]" removes.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// sectionsWeIgnoreQuietly are config sections the AWS CLI uses for things
// other than profiles; anything else unrecognised earns a warning, since it is
// usually a profile written as "[name]" instead of "[profile name]".
var sectionsWeIgnoreQuietly = map[string]bool{"plugins": true, "preview": true, "cli": true}

// index builds the profile and sso-session maps in one pass over each file,
// so Resolve and ProfileNames are map lookups.
func (c *Config) index() {
	for _, src := range []struct {
		f     *iniFile
		creds bool
	}{{&c.config, false}, {&c.credentials, true}} {
		for _, sec := range src.f.file.Sections() {
			raw := sec.Name()
			if raw == ini.DefaultSection {
				if len(sec.Keys()) > 0 {
					c.Warnings = append(c.Warnings, fmt.Sprintf("%s: keys before the first [section] header are ignored", src.f.path))
				}
				continue
			}
			kind, name := classifySection(raw, src.creds)
			switch kind {
			case sectionProfile:
				ps := c.profiles[name]
				if ps == nil {
					ps = &profileSections{}
					c.profiles[name] = ps
				}
				// "[default]" and "[profile default]" (or "[x]" and
				// "[profile x]" in the credentials file) may both exist;
				// ini.v1 gives us distinct sections, so we keep the first
				// and let lookups fall back to the other via mergedKeys.
				if src.creds {
					if ps.credentials == nil {
						ps.credentials = sec
					} else {
						mergeInto(ps.credentials, sec)
					}
				} else {
					if ps.config == nil {
						ps.config = sec
					} else {
						mergeInto(ps.config, sec)
					}
				}
			case sectionSSOSession:
				c.ssoSessions[name] = sec
			default:
				if !sectionsWeIgnoreQuietly[name] && !strings.HasPrefix(name, "services ") {
					c.Warnings = append(c.Warnings, fmt.Sprintf("%s: section [%s] is not a profile and is ignored (profiles in the config file are [profile %s])", src.f.path, name, name))
				}
			}
		}
	}
}

// mergeInto copies keys of a duplicate section (such as "[profile default]"
// next to "[default]") into the first one; later keys win as they would in a
// single section.
func mergeInto(dst, src *ini.Section) {
	for _, k := range src.Keys() {
		if dk, err := dst.GetKey(k.Name()); err == nil {
			dk.SetValue(k.Value())
		} else {
			_, _ = dst.NewKey(k.Name(), k.Value())
		}
	}
}

// ConfigPath is the config file that was read (it may not exist).
func (c *Config) ConfigPath() string { return c.config.path }

// CredentialsPath is the credentials file that was read (it may not exist).
func (c *Config) CredentialsPath() string { return c.credentials.path }

// ProfileNames lists every profile defined in either file, sorted; "default"
// is included when either file has a [default] section. The list is built on
// first use and shared, so callers must not modify it.
func (c *Config) ProfileNames() []string {
	c.namesOnce.Do(func() {
		c.names = make([]string, 0, len(c.profiles))
		for n := range c.profiles {
			c.names = append(c.names, n)
		}
		sort.Strings(c.names)
	})
	return c.names
}

// HasProfile reports whether either file defines the profile.
func (c *Config) HasProfile(name string) bool {
	_, ok := c.profiles[name]
	return ok
}

// SSOSessionNames lists the [sso-session NAME] sections, sorted.
func (c *Config) SSOSessionNames() []string {
	names := make([]string, 0, len(c.ssoSessions))
	for n := range c.ssoSessions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lineOf finds the line of key in the sections of path that define profile
// (or, with kind sectionSSOSession, the sso-session), for error messages.
// It returns the last match because, as in ini.v1, the last value of a
// repeated key wins. Without a key it returns the section header's line.
func (c *Config) lineOf(path string, kind sectionKind, name, key string) int {
	var data []byte
	var creds bool
	switch path {
	case c.config.path:
		data = c.config.data
	case c.credentials.path:
		data, creds = c.credentials.data, true
	default:
		return 0
	}
	n, found, in := 0, 0, false
	for len(data) > 0 {
		n++
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || t[0] == ';' {
			continue
		}
		if t[0] == '[' {
			end := bytes.LastIndexByte(t, ']')
			if end < 0 {
				in = false
				continue
			}
			k, nm := classifySection(string(t[1:end]), creds)
			in = k == kind && nm == name
			if in && key == "" && found == 0 {
				found = n
			}
			continue
		}
		if !in || key == "" {
			continue
		}
		i := bytes.IndexAny(t, "=:")
		if i > 0 && strings.EqualFold(string(bytes.TrimSpace(t[:i])), key) {
			found = n
		}
	}
	return found
}
