// Profiles for the accounts and roles an IAM Identity Center sign-in can use:
// naming them, leaving alone what the config already has, and appending the
// new sections in one atomic write (`rolevault sso profiles`).
package config

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// SSOAssignment is one account and role a signed-in person may use, as the
// portal's ListAccounts and ListAccountRoles return them.
type SSOAssignment struct {
	AccountID   string
	AccountName string
	RoleName    string
}

// DefaultSSOProfileFormat names generated profiles after the account and the
// role: "dev-AdministratorAccess". The account's name is lowercased and every
// character a profile name should not hold becomes '-'; the role's name is an
// IAM name and is kept as it is.
const DefaultSSOProfileFormat = "{account_name}-{role_name}"

// SSOProfileOptions say how to write the generated sections.
type SSOProfileOptions struct {
	Session string // the [sso-session NAME] every profile names
	Region  string // region = … in each profile; empty writes none
	Format  string // name template; empty means DefaultSSOProfileFormat
}

// NewProfile is one generated section.
type NewProfile struct {
	Name string
	Keys map[string]string
	SSOAssignment
}

// SkippedProfile is an assignment that got no new section, and why.
type SkippedProfile struct {
	SSOAssignment
	Name   string // the name it would have had, or the existing profile that covers it
	Reason string
}

// PlanSSOProfiles decides which sections to add for the assignments: one per
// account and role, except where the config already has a profile for that
// account and role through the same sign-in (by any name), or a profile of
// the generated name (which is never overwritten). Pure: it reads only c.
func (c *Config) PlanSSOProfiles(assignments []SSOAssignment, opts SSOProfileOptions) ([]NewProfile, []SkippedProfile, error) {
	format := opts.Format
	if format == "" {
		format = DefaultSSOProfileFormat
	}
	if err := CheckSSOProfileFormat(format); err != nil {
		return nil, nil, err
	}
	sec, ok := c.ssoSessions[opts.Session]
	if !ok {
		return nil, nil, &ConfigError{Kind: ErrSSOSessionNotFound, Msg: fmt.Sprintf("there is no [sso-session %s] in the config", clip(opts.Session)),
			Advice: "add it with sso_start_url and sso_region first, or name one of: " + strings.Join(c.SSOSessionNames(), ", ")}
	}
	kv, err := sec.values()
	if err != nil {
		return nil, nil, err
	}
	startURL := strings.TrimSpace(kv[keySSOStartURL])

	// What the config already covers: account+role through this sign-in.
	covered := make(map[[2]string]string)
	for _, name := range c.ProfileNamesInFileOrder() {
		p, err := c.Resolve(name, Overrides{})
		if err != nil || p.SSO == nil {
			continue // a broken profile covers nothing; it stays as it is
		}
		if p.SSO.Session == opts.Session || (p.SSO.Session == "" && p.SSO.StartURL == startURL) {
			k := [2]string{p.SSO.AccountID, p.SSO.RoleName}
			if _, dup := covered[k]; !dup {
				covered[k] = name
			}
		}
	}

	sorted := append([]SSOAssignment(nil), assignments...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if an, bn := strings.ToLower(a.AccountName), strings.ToLower(b.AccountName); an != bn {
			return an < bn
		}
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		return a.RoleName < b.RoleName
	})
	var add []NewProfile
	var skip []SkippedProfile
	taken := make(map[string]bool)
	for _, a := range sorted {
		if existing, ok := covered[[2]string{a.AccountID, a.RoleName}]; ok {
			skip = append(skip, SkippedProfile{SSOAssignment: a, Name: existing, Reason: "already in the config as [profile " + existing + "]"})
			continue
		}
		name := ssoProfileName(format, a, opts.Session)
		switch {
		case name == "" || strings.ContainsAny(name, "[]\r\n"):
			skip = append(skip, SkippedProfile{SSOAssignment: a, Name: name, Reason: "the format gives no usable profile name"})
			continue
		case c.HasProfile(name):
			skip = append(skip, SkippedProfile{SSOAssignment: a, Name: name, Reason: "a profile of that name exists and is left as it is"})
			continue
		case taken[name]:
			// Two accounts with the same name: the later one gets its ID.
			alt := name + "-" + a.AccountID
			if taken[alt] || c.HasProfile(alt) {
				skip = append(skip, SkippedProfile{SSOAssignment: a, Name: name, Reason: "another generated profile has that name"})
				continue
			}
			name = alt
		}
		taken[name] = true
		keys := map[string]string{
			keySSOSession:   opts.Session,
			keySSOAccountID: a.AccountID,
			keySSORoleName:  a.RoleName,
		}
		if opts.Region != "" {
			keys[keyRegion] = opts.Region
		}
		add = append(add, NewProfile{Name: name, Keys: keys, SSOAssignment: a})
	}
	return add, skip, nil
}

// CheckSSOProfileFormat refuses a name template that would give two
// accounts or two roles the same name.
func CheckSSOProfileFormat(format string) error {
	if !strings.Contains(format, "{role_name}") || !(strings.Contains(format, "{account_name}") || strings.Contains(format, "{account_id}")) {
		return &ConfigError{Kind: ErrInvalidValue, Msg: fmt.Sprintf("profile name format %q must contain {role_name} and {account_name} or {account_id}", format),
			Advice: "e.g. --name-format '{account_name}-{role_name}', so that every account and role gets its own name"}
	}
	return nil
}

// ssoProfileName fills the name template.
func ssoProfileName(format string, a SSOAssignment, session string) string {
	account := a.AccountName
	if account == "" {
		account = a.AccountID
	}
	r := strings.NewReplacer(
		"{account_name}", profileWord(strings.ToLower(account)),
		"{account_id}", a.AccountID,
		"{role_name}", profileWord(a.RoleName),
		"{session}", profileWord(session),
	)
	return strings.Trim(r.Replace(format), "-. ")
}

// profileWord keeps letters, digits and ._+@- and turns runs of anything else
// into one '-', so a name never needs quoting in the config or on a shell.
func profileWord(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r == '.' || r == '_' || r == '+' || r == '@' || r == '-' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// FormatProfiles renders sections as they would be appended, for printing.
func FormatProfiles(profiles []NewProfile) string {
	var b strings.Builder
	for i, p := range profiles {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(sectionText(p, "\n"))
	}
	return b.String()
}

func sectionText(p NewProfile, newline string) string {
	var b strings.Builder
	b.WriteString("[profile " + p.Name + "]" + newline)
	for _, k := range []string{keySSOSession, keySSOAccountID, keySSORoleName, keyRegion} {
		if v, ok := p.Keys[k]; ok {
			b.WriteString(k + " = " + v + newline)
		}
	}
	return b.String()
}

// AppendProfiles appends the sections to the config file at path in one
// atomic write. Every existing line stays byte for byte as it was; a section
// whose name the file already holds (someone edited it since it was read) is
// an error and nothing is written. A missing file is created 0600.
func AppendProfiles(path string, profiles []NewProfile) error {
	for _, p := range profiles {
		if err := checkWritable(p.Name, p.Keys); err != nil {
			return err
		}
	}
	data, mode, err := readForEdit(path)
	if err != nil {
		return err
	}
	present := make(map[string]bool)
	for _, l := range splitLinesKeepEnds(data) {
		t := strings.TrimSpace(l)
		if j := strings.LastIndexByte(t, ']'); strings.HasPrefix(t, "[") && j > 0 {
			if k, n := classifySection(t[1:j], false); k == sectionProfile {
				present[n] = true
			}
		}
	}
	newline := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		newline = "\r\n"
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		b.WriteString(newline)
	}
	for _, p := range profiles {
		if present[p.Name] {
			return &ConfigError{Kind: ErrInvalidValue, File: path, Profile: p.Name,
				Msg: "the file gained a [profile " + p.Name + "] section while profiles were being generated", Advice: "run the command again"}
		}
		present[p.Name] = true
		if b.Len() > 0 {
			b.WriteString(newline)
		}
		b.WriteString(sectionText(p, newline))
	}
	return writeAtomic(path, b.Bytes(), mode)
}
