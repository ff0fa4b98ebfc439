package config

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
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

	config      iniFile
	credentials iniFile

	profiles    map[string]*profileSections
	ssoSessions map[string]*sectionSource
	services    map[string]*sectionSource // [services NAME] of the config file
	lookupEnv   func(string) (string, bool)

	namesOnce sync.Once
	names     []string
	fileOrder []string // profile names as first defined: config file, then credentials file

	slab []profileSections // backing store for profiles' values while indexing
}

// iniFile is one file's path and raw bytes. The bytes stay for lazy
// parsing and for finding line numbers in errors.
type iniFile struct {
	path string
	data []byte
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
	return newConfig(iniFile{cfgPath, cfgData}, iniFile{credPath, credData}, lookup, false)
}

// newConfig indexes the two files' contents. wholeParse forces ini.v1 to
// parse each file whole, which the fuzz test uses to check that the
// indexed path reads exactly what ini.v1 reads.
func newConfig(cfg, creds iniFile, lookup func(string) (string, bool), wholeParse bool) (*Config, error) {
	c := &Config{
		config:      cfg,
		credentials: creds,
		lookupEnv:   lookup,
		profiles:    make(map[string]*profileSections),
		ssoSessions: make(map[string]*sectionSource),
		services:    make(map[string]*sectionSource),
	}
	for _, f := range []struct {
		f     *iniFile
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
