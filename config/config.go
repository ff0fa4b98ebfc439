package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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

// Config is the config and credentials files, read once by Load and
// read-only afterwards; Resolve does no I/O.
//
// Loading indexes the files rather than building ini.v1's tree of every
// section: a quick scan finds the section headers and checks every line's
// shape (so a malformed file is still an error naming its line), and ini.v1
// parses only the sections a Resolve reads. For a 10,000-profile config
// that is the difference between ~25ms (and 24MB) and ~3ms per command.
// A file whose lines could span several physical lines (triple-quoted
// values, backslash continuations, quoted keys, a byte-order mark) is
// parsed whole by ini.v1 instead, so both paths read the same values.
type Config struct {
	// Warnings are problems that do not stop anything (an ignored section,
	// keys before the first section); the CLI prints them to stderr.
	Warnings []string

	config      IniFile
	credentials IniFile

	profiles    map[string]*profileSections
	ssoSessions map[string]*sectionSource
	services    map[string]*sectionSource // [services NAME] of the config file
	lookupEnv   func(string) (string, bool)

	namesOnce sync.Once
	names     []string
	fileOrder []string // profile names as first defined: config file, then credentials file

	slab []profileSections // backing store for profiles' values while indexing
}

// IniFile is one file's path and raw bytes. The bytes stay for lazy
// parsing and for finding line numbers in errors.
type IniFile struct {
	path string
	data []byte
}

// profileSections are where one profile is defined. The credentials file
// wins on a key both define, as in botocore.
type profileSections struct {
	config      sectionSource
	credentials sectionSource
}

// sectionSource is every section of one file that defines the same profile
// or sso-session ("[default]" and "[profile default]", or a section written
// twice), in file order: later keys win, as within one section.
type sectionSource struct {
	file   *IniFile
	chunks []span         // byte ranges of the sections, each from its header line (indexed path)
	parsed []*ini.Section // the sections themselves (whole-file path)
	// parsedSuffix holds, per section of parsed, the continuation lines
	// of its keys (see splitContinuations); nil when there are none.
	parsedSuffix []map[string]string
}

type span struct{ start, end, line int }

func (s *sectionSource) defined() bool { return len(s.chunks) > 0 || len(s.parsed) > 0 }

// values returns the section's keys (lowercased) and values. Indexed
// sections are parsed by ini.v1 here, on first need.
func (s *sectionSource) values() (map[string]string, error) {
	if !s.defined() {
		return nil, nil
	}
	secs, suffix := s.parsed, s.parsedSuffix
	if len(s.chunks) > 0 {
		var buf []byte
		for _, ch := range s.chunks {
			buf = append(buf, s.file.data[ch.start:ch.end]...)
			if len(buf) > 0 && buf[len(buf)-1] != '\n' {
				buf = append(buf, '\n')
			}
		}
		clean, cont, n := splitContinuations(buf)
		f, err := ini.LoadSources(iniLoadOptions, clean)
		if err != nil {
			// The scan accepted these lines, so ini.v1 should too; if the
			// two ever disagree, say where rather than guess.
			return nil, malformedError(s.file.path, s.file.data, err)
		}
		f.BlockMode = false
		// Sections()[0] is ini.v1's DEFAULT, then one per header.
		secs, suffix = f.Sections(), cont
		if len(secs) != n+1 {
			suffix = nil // cannot happen: the scan found these headers
		}
	}
	out := make(map[string]string, 8)
	for i, sec := range secs {
		if sec.Name() == ini.DefaultSection {
			continue
		}
		for k, v := range sec.KeysHash() {
			if suffix != nil {
				v = continued(suffix, i, k, v)
			}
			out[k] = v
		}
	}
	return out, nil
}

// nestedValues returns the section's nested values ("sts =\n  endpoint_url
// = URL" is nested["sts"]["endpoint_url"]), keys lowercased, values read as
// the AWS SDK reads sub-properties: split at the first '=' (or an earlier
// ':'), trimmed, one pair of quotes removed. A later one wins.
func (s *sectionSource) nestedValues() (map[string]map[string]string, error) {
	if !s.defined() {
		return nil, nil
	}
	secs := s.parsed
	if len(s.chunks) > 0 {
		var buf []byte
		for _, ch := range s.chunks {
			buf = append(buf, s.file.data[ch.start:ch.end]...)
			if len(buf) > 0 && buf[len(buf)-1] != '\n' {
				buf = append(buf, '\n')
			}
		}
		clean, _, _ := splitContinuations(buf)
		f, err := ini.LoadSources(iniLoadOptions, clean)
		if err != nil {
			return nil, malformedError(s.file.path, s.file.data, err)
		}
		f.BlockMode = false
		secs = f.Sections()
	}
	out := make(map[string]map[string]string)
	for _, sec := range secs {
		if sec.Name() == ini.DefaultSection {
			continue
		}
		for _, k := range sec.Keys() {
			for _, line := range k.NestedValues() {
				i := strings.IndexAny(line, "=:")
				if i < 0 {
					continue
				}
				name := strings.ToLower(k.Name())
				if out[name] == nil {
					out[name] = make(map[string]string)
				}
				out[name][strings.ToLower(strings.TrimSpace(line[:i]))] = unquote(strings.TrimSpace(line[i+1:]))
			}
		}
	}
	return out, nil
}

const defaultProfile = "default"

// Load reads and parses the config and credentials files. A file that
// does not exist is an empty file, not an error: many people have only one of
// the two, and `rolevault add` works before either exists.
func Load(opts LoadOptions) (*Config, error) {
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
	cfgData, err := readFile(cfgPath)
	if err != nil {
		return nil, err
	}
	credData, err := readFile(credPath)
	if err != nil {
		return nil, err
	}
	return NewConfig(IniFile{cfgPath, cfgData}, IniFile{credPath, credData}, lookup, false)
}

// NewConfig indexes the two files' contents. wholeParse forces ini.v1 to
// parse each file whole, which the fuzz test uses to check that the
// indexed path reads exactly what ini.v1 reads.
func NewConfig(cfg, creds IniFile, lookup func(string) (string, bool), wholeParse bool) (*Config, error) {
	c := &Config{
		config:      cfg,
		credentials: creds,
		lookupEnv:   lookup,
		profiles:    make(map[string]*profileSections),
		ssoSessions: make(map[string]*sectionSource),
		services:    make(map[string]*sectionSource),
	}
	for _, f := range []struct {
		f     *IniFile
		creds bool
	}{{&c.config, false}, {&c.credentials, true}} {
		var err error
		if wholeParse {
			err = c.indexParsed(f.f, f.creds)
		} else {
			err = c.index(f.f, f.creds)
		}
		if err != nil {
			return nil, err
		}
	}
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
	// Without this, ini.v1 checks each new section name against a list of
	// all previous ones: quadratic, 170ms for 10,000 profiles. We merge
	// repeated sections ourselves in index.
	AllowNonUniqueSections: true,
}

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
	sectionServices
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
	if rest, ok := cutWord(name, "services"); ok && !credentialsFile {
		return sectionServices, rest
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

// index records where each profile and sso-session of f is defined.
func (c *Config) index(f *IniFile, creds bool) error {
	headers, preamble, err := scanINI(f.path, f.data)
	if errors.Is(err, errNeedFullParse) {
		return c.indexParsed(f, creds)
	}
	if err != nil {
		return err
	}
	if preamble {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s: keys before the first [section] header are ignored", f.path))
	}
	// One allocation for all the profiles of the file instead of one each:
	// it is most of the cost of indexing a big config.
	c.slab = make([]profileSections, 0, len(headers))
	spans := make([]span, len(headers))
	for i, h := range headers {
		if src := c.sourceFor(f, h.name, creds); src != nil {
			if src.chunks == nil {
				// A full-capacity one-element window of spans: no
				// allocation, and a repeated section's append copies.
				spans[i] = h.span
				src.chunks = spans[i : i+1 : i+1]
			} else {
				src.chunks = append(src.chunks, h.span)
			}
		}
	}
	return nil
}

// indexParsed is index for files the scan declines: ini.v1 parses the
// whole file and we keep its sections.
func (c *Config) indexParsed(f *IniFile, creds bool) error {
	clean, suffix, n := splitContinuations(f.data)
	parsed, err := ini.LoadSources(iniLoadOptions, clean)
	if err == nil && suffix != nil && len(parsed.Sections()) != n+1 {
		// A construct that spans lines (a """ value) hid or faked a
		// header from the line scan: read the file as ini.v1 alone does.
		suffix = nil
		parsed, err = ini.LoadSources(iniLoadOptions, f.data)
	}
	if err != nil {
		return malformedError(f.path, f.data, err)
	}
	parsed.BlockMode = false
	for i, sec := range parsed.Sections() {
		if sec.Name() == ini.DefaultSection {
			if len(sec.Keys()) > 0 {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: keys before the first [section] header are ignored", f.path))
			}
			continue
		}
		if src := c.sourceFor(f, sec.Name(), creds); src != nil {
			src.parsed = append(src.parsed, sec)
			if i < len(suffix) && suffix[i] != nil {
				for len(src.parsedSuffix) < len(src.parsed) {
					src.parsedSuffix = append(src.parsedSuffix, nil)
				}
				src.parsedSuffix[len(src.parsed)-1] = suffix[i]
			}
		}
	}
	return nil
}

// sourceFor returns the sectionSource a section header adds to, or nil
// (with a warning when useful) for sections that are neither.
func (c *Config) sourceFor(f *IniFile, raw string, creds bool) *sectionSource {
	kind, name := classifySection(raw, creds)
	switch kind {
	case sectionProfile:
		ps := c.profiles[name]
		if ps == nil {
			if len(c.slab) == cap(c.slab) {
				c.slab = make([]profileSections, 0, 16)
			}
			c.slab = append(c.slab, profileSections{config: sectionSource{file: &c.config}, credentials: sectionSource{file: &c.credentials}})
			ps = &c.slab[len(c.slab)-1]
			c.profiles[name] = ps
			c.fileOrder = append(c.fileOrder, name)
		}
		if creds {
			return &ps.credentials
		}
		return &ps.config
	case sectionSSOSession, sectionServices:
		m := c.ssoSessions
		if kind == sectionServices {
			m = c.services
		}
		ss := m[name]
		if ss == nil {
			ss = &sectionSource{file: f}
			m[name] = ss
		}
		return ss
	}
	if raw == ini.DefaultSection {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s: section [%s] is ignored", f.path, clip(raw)))
	} else if !sectionsWeIgnoreQuietly[name] {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s: section [%s] is not a profile and is ignored (profiles in the config file are [profile %s])", f.path, clip(name), clip(name)))
	}
	return nil
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
		slices.Sort(c.names)
	})
	return c.names
}

// ProfileNamesInFileOrder lists the same names as ProfileNames in the order
// the files define them — the config file's, then profiles only the
// credentials file has — as `aws configure list-profiles` prints them.
// Callers must not modify it.
func (c *Config) ProfileNamesInFileOrder() []string { return c.fileOrder }

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

// ProfileSetting returns key as written in the profile's own section of the
// config file (not inherited from include_profile or [default]), for settings
// that only rolevault reads, such as ColorKey. ok is false when the section
// does not set it.
func (c *Config) ProfileSetting(profile, key string) (val string, ok bool, err error) {
	ps := c.profiles[profile]
	if ps == nil {
		return "", false, nil
	}
	vals, err := ps.config.values()
	if err != nil {
		return "", false, err
	}
	val, ok = vals[strings.ToLower(key)]
	return strings.TrimSpace(val), ok, nil
}

var ErrNotRegular = errors.New("not a regular file")
