// Where a profile's keys come from: SSO settings, keys written in a file, and the check that there is exactly one source.

package config

import (
	"fmt"
	"strings"
)

// buildSSO merges a profile's sso_* keys with its [sso-session] and checks
// that the result names everything GetRoleCredentials needs.
func (r *resolver) buildSSO(p *Profile, vals map[string]rawValue) error {
	get := func(k string) string {
		v, ok := vals[k]
		if !ok {
			return ""
		}
		p.Origins[k] = v.origin()
		return v.val
	}
	s := &SSOSettings{
		Session:            get(keySSOSession),
		StartURL:           get(keySSOStartURL),
		Region:             get(keySSORegion),
		AccountID:          get(keySSOAccountID),
		RoleName:           get(keySSORoleName),
		RegistrationScopes: get(keySSORegistrationScopes),
	}
	if *s == (SSOSettings{}) {
		return nil
	}
	if s.Session != "" {
		sec, ok := r.c.ssoSessions[s.Session]
		if !ok {
			e := r.errAt(ErrSSOSessionNotFound, p.Name, keySSOSession, vals[keySSOSession],
				fmt.Sprintf("sso_session names [sso-session %s], which is not defined", clip(s.Session)),
				"add an [sso-session "+s.Session+"] section with sso_start_url and sso_region, or fix the name")
			if alt := suggest(s.Session, r.c.SSOSessionNames()); alt != "" {
				e.Advice = fmt.Sprintf("did you mean %q? Otherwise add an [sso-session %s] section with sso_start_url and sso_region", alt, s.Session)
			}
			return e
		}
		kv, err := sec.values()
		if err != nil {
			return err
		}
		for _, f := range []struct {
			key string
			dst *string
		}{{keySSOStartURL, &s.StartURL}, {keySSORegion, &s.Region}, {keySSORegistrationScopes, &s.RegistrationScopes}} {
			sv := strings.TrimSpace(kv[f.key])
			if sv == "" {
				continue
			}
			if *f.dst != "" && *f.dst != sv {
				return r.errAt(ErrInvalidValue, p.Name, f.key, vals[f.key],
					fmt.Sprintf("%s %q differs from %q in [sso-session %s]", f.key, clip(*f.dst), clip(sv), clip(s.Session)),
					"remove "+f.key+" from the profile; the sso-session's value is used")
			}
			*f.dst = sv
			p.Origins[f.key] = "[sso-session " + s.Session + "] in " + r.c.config.path
		}
	}
	if s.Session != "" {
		if err := r.checkSSOSession(p, s); err != nil {
			return err
		}
	} else if s.RegistrationScopes != "" {
		r.warn(fmt.Sprintf("profile %q: sso_registration_scopes is ignored without sso_session, as the AWS CLI ignores it: a profile with sso_start_url signs in without scopes and gets no refresh token; move the settings into an [sso-session] section", p.Name))
		s.RegistrationScopes = ""
	}
	var missing []string
	for _, f := range []struct{ key, val string }{
		{keySSOStartURL, s.StartURL}, {keySSORegion, s.Region}, {keySSOAccountID, s.AccountID}, {keySSORoleName, s.RoleName},
	} {
		if f.val == "" {
			missing = append(missing, f.key)
		}
	}
	if len(missing) > 0 {
		key := keySSOAccountID
		for _, k := range []string{keySSOSession, keySSOStartURL, keySSOAccountID, keySSORoleName} {
			if _, ok := vals[k]; ok {
				key = k
				break
			}
		}
		return r.errAt(ErrIncompleteSSO, p.Name, "", vals[key],
			"IAM Identity Center settings are missing "+strings.Join(missing, ", "),
			"an SSO profile needs sso_account_id and sso_role_name, plus sso_start_url and sso_region (directly or via sso_session)")
	}
	if !validEndpointURL(s.StartURL) {
		return r.errAt(ErrInvalidValue, p.Name, keySSOStartURL, vals[keySSOStartURL],
			fmt.Sprintf("sso_start_url %q is not an http(s) URL", clip(s.StartURL)),
			"use the AWS access portal URL, such as https://my-org.awsapps.com/start")
	}
	p.SSO = s
	return nil
}

// checkSSOSession checks the [sso-session] section a profile names on its
// own: the AWS CLI refuses a session without sso_start_url or sso_region
// (unless the profile itself sets it), and so do we, pointing at the section
// rather than the profile. It also
// reads rolevault's own key there, rolevault_share_sso_cache.
func (r *resolver) checkSSOSession(p *Profile, s *SSOSettings) error {
	sec := r.c.ssoSessions[s.Session]
	kv, err := sec.values()
	if err != nil {
		return err
	}
	line := r.c.lineOf(r.c.config.path, sectionSSOSession, s.Session, "")
	for _, f := range []struct{ k, v string }{{keySSOStartURL, s.StartURL}, {keySSORegion, s.Region}} {
		if k := f.k; f.v == "" {
			return &ConfigError{Kind: ErrIncompleteSSO, File: r.c.config.path, Line: line, Profile: p.Name, Key: k,
				Msg:    fmt.Sprintf("[sso-session %s] has no %s", clip(s.Session), k),
				Advice: "add sso_start_url = https://…/start and sso_region = REGION to the [sso-session " + s.Session + "] section"}
		}
	}
	share, origin := strings.TrimSpace(kv[KeySSOShareCache]), "[sso-session "+s.Session+"] in "+r.c.config.path
	if v, ok := r.c.lookupEnv(EnvSSOShareCache); ok && strings.TrimSpace(v) != "" {
		share, origin = strings.TrimSpace(v), EnvSSOShareCache
	}
	switch {
	case share == "":
	case strings.EqualFold(share, "true"):
		s.ShareCache = true
		p.Origins[KeySSOShareCache] = origin
	case strings.EqualFold(share, "false"):
	default:
		e := &ConfigError{Kind: ErrInvalidValue, File: r.c.config.path, Line: r.c.lineOf(r.c.config.path, sectionSSOSession, s.Session, KeySSOShareCache),
			Profile: p.Name, Key: KeySSOShareCache,
			Msg:    fmt.Sprintf("%s %q must be true or false", KeySSOShareCache, clip(share)),
			Advice: "set it to true to share the sign-in with the AWS CLI's cache, or false"}
		if origin == EnvSSOShareCache {
			e.File, e.Line, e.Key = "", 0, EnvSSOShareCache
			e.Msg += " (from " + EnvSSOShareCache + ")"
		}
		return e
	}
	return nil
}

// buildFileKeys takes access keys written in the credentials (or config)
// file. They work, but they are plain text on disk, so we say so.
func (r *resolver) buildFileKeys(p *Profile, vals map[string]rawValue) error {
	id, hasID := vals[keyAccessKeyID]
	secret, hasSecret := vals[keySecretAccessKey]
	token, hasToken := vals[keySessionToken]
	if !hasID && !hasSecret && !hasToken {
		return nil
	}
	if !hasID || !hasSecret {
		have, lack := keyAccessKeyID, keySecretAccessKey
		if !hasID {
			have, lack = keySecretAccessKey, keyAccessKeyID
		}
		if !hasID && !hasSecret {
			have, lack = keySessionToken, keyAccessKeyID+" and "+keySecretAccessKey
		}
		return r.errAt(ErrInvalidValue, p.Name, have, vals[have],
			fmt.Sprintf("%s is set but %s is missing", have, lack),
			"write both keys, or better, remove them from the file and store them with 'rolevault add "+p.Name+"'")
	}
	// The SDK and the AWS CLI read the keys of each file as a set and
	// ignore or refuse a partial one: an ID from one file and a secret from
	// the other is a mistake (often a leftover), never one key.
	for _, other := range []struct {
		key string
		v   rawValue
		has bool
	}{{keySecretAccessKey, secret, true}, {keySessionToken, token, hasToken}} {
		if other.has && other.v.file != id.file {
			return r.errAt(ErrInvalidValue, p.Name, keyAccessKeyID, id,
				fmt.Sprintf("aws_access_key_id is in %s but %s is in %s; the AWS CLI and SDKs never pair keys across the two files",
					id.file, other.key, other.v.file),
				"put the whole key in one of the files, or better, store it with 'rolevault add "+p.Name+"' and delete the keys from both")
		}
	}
	keysAt := id.file
	if line := r.c.lineOf(id.file, sectionProfile, id.profile, keyAccessKeyID); line > 0 {
		keysAt = fmt.Sprintf("%s line %d", id.file, line)
	}
	// A role profile with source_profile gets its keys from the source, as
	// the AWS CLI, the SDKs and aws-vault (which never reads the files) all
	// do; keys left in its own section are a leftover, not a second source.
	if p.RoleARN != "" && p.SourceProfileName != "" && p.SourceProfileName != p.Name {
		r.warn(fmt.Sprintf("profile %q assumes role_arn with the keys of source_profile %q; the access key in %s is ignored: delete it from the %s section of %s",
			p.Name, p.SourceProfileName, keysAt, r.sectionHeader(id.file, p.Name), id.file))
		return nil
	}
	p.FileKeys = &FileKeys{AccessKeyID: id.val, SecretAccessKey: secret.val, SessionToken: token.val}
	p.Origins[keyAccessKeyID] = id.origin()
	p.FileKeysAt = keysAt
	if r.ov.StoredKeyBesideFile != nil && r.ov.StoredKeyBesideFile(p.Name) {
		p.FileKeysIgnored = true
		keys := keyAccessKeyID + " and " + keySecretAccessKey
		if hasToken {
			keys = keyAccessKeyID + ", " + keySecretAccessKey + " and " + keySessionToken
		}
		r.warn(fmt.Sprintf("profile %q uses the access key stored in the keyring; the plaintext copy in %s is ignored: delete %s from the %s section of %s",
			p.Name, p.FileKeysAt, keys, r.sectionHeader(id.file, p.Name), id.file))
		return nil
	}
	if !hasToken {
		r.warn(fmt.Sprintf("profile %q: access keys are stored in plain text in %s; move them into the keychain with 'rolevault add %s' and delete them from the file", p.Name, id.file, p.Name))
	}
	return nil
}

// sectionHeader is how profile's section is written in file: [NAME] in the
// credentials file, [profile NAME] (or [default]) in the config file.
func (r *resolver) sectionHeader(file, name string) string {
	if file == r.c.credentials.path || name == defaultProfile {
		return "[" + name + "]"
	}
	return "[profile " + name + "]"
}

// checkKeySources enforces that a profile has at most one way to get keys,
// and that a role has one.
func (r *resolver) checkKeySources(p *Profile, vals map[string]rawValue) error {
	// source_profile naming the profile itself means "my own keys", as in
	// botocore (with keys in the file) and aws-vault (with stored keys).
	selfSource := p.SourceProfileName == p.Name
	if selfSource {
		p.SourceProfileName = ""
		p.Origins[keySourceProfile] += " (itself: its own keys)"
	}
	type src struct {
		key string
		set bool
	}
	sources := []src{
		{keySourceProfile, p.SourceProfileName != ""},
		{keyCredentialSource, p.CredentialSource != ""},
		{keyCredentialProcess, p.CredentialProcess != ""},
		{keyWebIdentityTokenFile, p.WebIdentityTokenFile != ""},
		{keyWebIdentityTokenProc, p.WebIdentityTokenProcess != ""},
		{"sso_*", p.SSO != nil},
		{keyAccessKeyID, p.FileKeys != nil},
	}
	var set []string
	roleSource := selfSource // something other than file keys that a role_arn can be assumed from
	for _, s := range sources {
		if s.set {
			set = append(set, s.key)
			// The AWS CLI never assumes a profile's role_arn with its own
			// SSO role credentials ("Partial credentials found in
			// assume-role, missing: source_profile or credential_source"):
			// the role goes in a profile of its own that names the SSO
			// profile as source_profile.
			roleSource = roleSource || (s.key != keyAccessKeyID && s.key != "sso_*")
		}
	}
	if len(set) > 1 {
		key := set[1]
		if key == "sso_*" {
			key = keySSOAccountID
		}
		return r.errAt(ErrConflictingKeySources, p.Name, key, vals[key],
			fmt.Sprintf("%s and %s both say where keys come from", set[0], set[1]),
			"keep one of them; a profile gets its keys from exactly one place")
	}
	if (p.WebIdentityTokenFile != "" || p.WebIdentityTokenProcess != "") && p.RoleARN == "" {
		key := keyWebIdentityTokenFile
		if p.WebIdentityTokenFile == "" {
			key = keyWebIdentityTokenProc
		}
		return r.errAt(ErrInvalidValue, p.Name, key, vals[key],
			key+" needs role_arn: the token is exchanged for that role's credentials",
			"add role_arn = arn:aws:iam::ACCOUNT:role/NAME")
	}
	// The AWS CLI rejects a role_arn with nothing to assume it from; so do
	// we, rather than aws-vault's guess that the profile's own stored keys
	// were meant. A role that comes from AWS_ROLE_ARN or a flag is different:
	// it is applied on top of whatever the profile already is, so its keys
	// are the profile's own.
	if p.RoleARN != "" && !roleSource && vals[keyRoleARN].env == "" {
		advice := "add source_profile = PROFILE (the profile whose keys you stored with 'rolevault add'), or credential_source = Environment"
		if p.SSO != nil {
			advice = "move role_arn into a profile of its own with source_profile = " + p.Name + ": the AWS CLI does not assume a role with the same profile's SSO credentials either"
		} else if p.FileKeys != nil || r.hasStoredKeys(p.Name) {
			advice = fmt.Sprintf("this profile has its own keys: to assume the role with them, add source_profile = %s", p.Name)
		}
		return r.errAt(ErrMissingCredentialSource, p.Name, keyRoleARN, vals[keyRoleARN],
			"role_arn is set but neither source_profile nor credential_source says whose keys assume it", advice)
	}
	return nil
}

// SSOSession reads [sso-session name] on its own, for commands that work on
// a sign-in rather than a profile (list, logout, generating profiles): its
// start URL, region, scopes and rolevault_share_sso_cache, with the same
// checks a profile naming it gets. Endpoints are a profile's; a caller
// without one passes a Profile with only the global endpoint settings.
func (c *Config) SSOSession(name string) (*SSOSettings, error) {
	r := &resolver{c: c}
	sec, ok := c.ssoSessions[name]
	if !ok {
		e := &ConfigError{Kind: ErrSSOSessionNotFound, File: c.config.path,
			Msg:    fmt.Sprintf("there is no [sso-session %s] in %s", clip(name), c.config.path),
			Advice: "add an [sso-session " + name + "] section with sso_start_url and sso_region, or fix the name"}
		if alt := suggest(name, c.SSOSessionNames()); alt != "" {
			e.Advice = fmt.Sprintf("did you mean %q?", alt)
		}
		return nil, e
	}
	kv, err := sec.values()
	if err != nil {
		return nil, err
	}
	s := &SSOSettings{Session: name, StartURL: strings.TrimSpace(kv[keySSOStartURL]), Region: strings.TrimSpace(kv[keySSORegion]),
		RegistrationScopes: strings.TrimSpace(kv[keySSORegistrationScopes])}
	p := &Profile{Name: "[sso-session " + name + "]", Origins: map[string]string{}}
	if err := r.checkSSOSession(p, s); err != nil {
		return nil, err
	}
	if !validEndpointURL(s.StartURL) {
		return nil, &ConfigError{Kind: ErrInvalidValue, File: c.config.path, Line: c.lineOf(c.config.path, sectionSSOSession, name, keySSOStartURL),
			Key: keySSOStartURL, Msg: fmt.Sprintf("sso_start_url %q is not an http(s) URL", clip(s.StartURL)),
			Advice: "use the AWS access portal URL, such as https://my-org.awsapps.com/start"}
	}
	return s, nil
}
