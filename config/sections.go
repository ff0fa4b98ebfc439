// The index of sections: where each profile, sso-session and services section is defined, parsed by ini.v1 on first use, and line numbers for errors.

package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/ini.v1"
)

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
	file   *iniFile
	chunks []span         // byte ranges of the sections, each from its header line (indexed path)
	parsed []*ini.Section // the sections themselves (whole-file path)
	// parsedSuffix holds, per section of parsed, the continuation lines
	// of its keys (see splitContinuations); nil when there are none.
	parsedSuffix []map[string]string
}

type span struct{ start, end, line int }

func (s *sectionSource) defined() bool { return len(s.chunks) > 0 || len(s.parsed) > 0 }

// parseChunks parses an indexed section's byte ranges with ini.v1: its
// sections (ini.v1's DEFAULT first, then one per header) and, per section,
// the continuation lines of its keys (nil when they cannot be matched up).
func (s *sectionSource) parseChunks() ([]*ini.Section, []map[string]string, error) {
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
		return nil, nil, malformedError(s.file.path, s.file.data, err)
	}
	f.BlockMode = false
	secs := f.Sections()
	if len(secs) != n+1 {
		cont = nil // cannot happen: the scan found these headers
	}
	return secs, cont, nil
}

// values returns the section's keys (lowercased) and values. Indexed
// sections are parsed by ini.v1 here, on first need.
func (s *sectionSource) values() (map[string]string, error) {
	if !s.defined() {
		return nil, nil
	}
	secs, suffix := s.parsed, s.parsedSuffix
	if len(s.chunks) > 0 {
		var err error
		if secs, suffix, err = s.parseChunks(); err != nil {
			return nil, err
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
		var err error
		if secs, _, err = s.parseChunks(); err != nil {
			return nil, err
		}
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
func (c *Config) index(f *iniFile, creds bool) error {
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
func (c *Config) indexParsed(f *iniFile, creds bool) error {
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
func (c *Config) sourceFor(f *iniFile, raw string, creds bool) *sectionSource {
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
