package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Overrides are the command-line flags that change a profile. They beat the
// environment, which beats the config files.
type Overrides struct {
	Region    string        // --region
	MFASerial string        // --mfa-serial, for the profile being resolved only
	Duration  time.Duration // --duration: AssumeRole, GetSessionToken and GetFederationToken durations of every profile in the chain, as aws-vault's base config does

	// HasStoredKeys, when set, lets a profile that no file defines resolve
	// anyway if the keyring holds keys under its name. aws-vault allows
	// `add NAME` without a config section, and people rely on that; without
	// this hook such a name is ErrProfileNotFound, never a fall-back to
	// [default]. It is consulted only for names missing from both files.
	HasStoredKeys func(profile string) bool

	// StoredKeyBesideFile, when set, is asked whether the keyring holds a key
	// under the name of a profile that also has keys written in a file. When
	// it does, the stored key is used and the file's copy is a leftover that
	// earns a warning: aws-vault never reads keys from the files, so a person
	// who moved to it (or to rolevault) keeps using the key they stored, and
	// the old one in ~/.aws/credentials is usually stale. It is consulted
	// only for profiles with file keys, so a warm run of any other profile
	// still reads exactly one keyring item; it must answer without a
	// passphrase or unlock prompt, and false when it cannot tell.
	StoredKeyBesideFile func(profile string) bool
}

// Config keys rolevault reads. Keys not listed here (output, cli_pager, s3, …)
// belong to other tools and are ignored.
const (
	keyRegion                = "region"
	keyMFASerial             = "mfa_serial"
	keyMFAProcess            = "mfa_process"
	keyRoleARN               = "role_arn"
	keySourceProfile         = "source_profile"
	keyCredentialSource      = "credential_source"
	keyExternalID            = "external_id"
	keyRoleSessionName       = "role_session_name"
	KeyDurationSeconds       = "duration_seconds"
	keyIncludeProfile        = "include_profile"
	keyParentProfile         = "parent_profile"
	keyCredentialProcess     = "credential_process"
	keyWebIdentityTokenFile  = "web_identity_token_file"
	keyWebIdentityTokenProc  = "web_identity_token_process"
	keySSOSession            = "sso_session"
	keySSOStartURL           = "sso_start_url"
	keySSORegion             = "sso_region"
	keySSOAccountID          = "sso_account_id"
	keySSORoleName           = "sso_role_name"
	keySSORegistrationScopes = "sso_registration_scopes"
	keySTSRegionalEndpoints  = "sts_regional_endpoints"
	keyEndpointURL           = "endpoint_url"
	keyIgnoreEndpointURLs    = "ignore_configured_endpoint_urls"
	keyServices              = "services"
	KeyCABundle              = "ca_bundle"
	keySessionTags           = "session_tags"
	keyTransitiveSessionTags = "transitive_session_tags"
	keySourceIdentity        = "source_identity"
	keyAccessKeyID           = "aws_access_key_id"
	keySecretAccessKey       = "aws_secret_access_key"
	keySessionToken          = "aws_session_token"
)

var profileKeys = []string{
	keyRegion, keyMFASerial, keyMFAProcess, keyRoleARN, keySourceProfile, keyCredentialSource,
	keyExternalID, keyRoleSessionName, KeyDurationSeconds, keyIncludeProfile, keyParentProfile,
	keyCredentialProcess, keyWebIdentityTokenFile, keyWebIdentityTokenProc, keySSOSession,
	keySSOStartURL, keySSORegion, keySSOAccountID, keySSORoleName, keySSORegistrationScopes,
	keySTSRegionalEndpoints, keyEndpointURL, keySessionTags, keyTransitiveSessionTags,
	keySourceIdentity, keyAccessKeyID, keySecretAccessKey, keySessionToken,
	keyIgnoreEndpointURLs, keyServices, KeyCABundle,
}

// defaultInheritedKeys are the [default] keys every other profile inherits
// when it sets them nowhere else. aws-vault v7 inherits every key of
// [default]; we keep the ones that describe the person and their
// environment and drop the ones that decide where credentials come from
// (role_arn, source_profile, credential_process, sso_*, web identity, …),
// because inheriting those silently turns every profile into a copy of
// [default] — the fall-back docs/architecture.md promises never to make.
var defaultInheritedKeys = map[string]bool{
	keyRegion: true, keyMFASerial: true, keyMFAProcess: true, keySTSRegionalEndpoints: true,
	keyEndpointURL: true, KeyDurationSeconds: true, keyRoleSessionName: true,
	keyIgnoreEndpointURLs: true, keyServices: true, KeyCABundle: true,
}

// keysNotIncluded are keys include_profile does not carry over: stored
// access keys belong to the profile that names them.
var keysNotIncluded = map[string]bool{
	keyAccessKeyID: true, keySecretAccessKey: true, keySessionToken: true,
	keyIncludeProfile: true, keyParentProfile: true,
}

// rawValue is one setting before parsing, with where it came from so errors
// and `explain` can point at it.
type rawValue struct {
	val     string
	file    string // the file, for values from a file
	profile string // the section's profile name (differs from the resolved profile for include_profile/[default])
	via     string // "", "include_profile", "[default]"
	env     string // the env var or flag, for values not from a file
}

// origin describes where a value came from, for Profile.Origins.
func (v rawValue) origin() string {
	switch {
	case v.env != "":
		return v.env
	case v.via == "[default]":
		return "[default] in " + v.file
	case v.via != "":
		return fmt.Sprintf("%s %q in %s", v.via, v.profile, v.file)
	default:
		return v.file
	}
}

// resolver carries the state of one Resolve call.
type resolver struct {
	c        *Config
	ov       Overrides
	target   string
	warnings []string
	seenWarn map[string]bool
}

func (r *resolver) warn(s string) {
	if r.seenWarn == nil {
		r.seenWarn = make(map[string]bool)
	}
	s = clipWords(s)
	if !r.seenWarn[s] {
		r.seenWarn[s] = true
		r.warnings = append(r.warnings, s)
	}
}

// Resolve builds the profile name with everything that feeds it: flags (ov),
// the environment, the profile's own keys, its include_profile chain and
// [default]; then resolves its source_profile the same way, recursively.
// A name no file defines is ErrProfileNotFound — never [default].
func (c *Config) Resolve(name string, ov Overrides) (*Profile, error) {
	r := &resolver{c: c, ov: ov, target: name}
	p, err := r.resolve(name, nil, nil)
	if err != nil {
		return nil, err
	}
	p.Warnings = r.warnings
	return p, nil
}

// referrer is the profile and key that led to resolving a name, so a missing
// source names the place that mentions it.
type referrer struct {
	profile string
	val     rawValue
	key     string
}

func (r *resolver) resolve(name string, chain []string, ref *referrer) (*Profile, error) {
	for i, n := range chain {
		if n == name {
			cycle := append(append([]string{}, chain[i:]...), name)
			return nil, r.errAt(ErrSourceProfileCycle, ref.profile, ref.key, ref.val,
				"source_profile cycle "+clip(strings.Join(cycle, " → ")),
				"break the cycle: the last profile of a source_profile chain must hold keys (stored with 'rolevault add', credential_process, sso_*, …)")
		}
	}
	vals, file, err := r.collect(name, ref)
	if err != nil {
		return nil, err
	}
	p, err := r.build(name, file, vals)
	if err != nil {
		return nil, err
	}
	if p.SourceProfileName != "" {
		src, err := r.resolve(p.SourceProfileName, append(chain, name), &referrer{profile: name, val: vals[keySourceProfile], key: keySourceProfile})
		if err != nil {
			return nil, err
		}
		p.Source = src
	}
	return p, nil
}

// collect gathers a profile's raw settings in precedence order: flags, env
// (some only for the target), its own sections, its include_profile chain,
// then the [default] keys it inherits. The first value found for a key wins.
func (r *resolver) collect(name string, ref *referrer) (vals map[string]rawValue, file string, err error) {
	c := r.c
	ps, ok := c.profiles[name]
	if !ok {
		if r.ov.HasStoredKeys != nil && r.ov.HasStoredKeys(name) {
			ps = &profileSections{config: sectionSource{file: &c.config}, credentials: sectionSource{file: &c.credentials}}
			r.warn(fmt.Sprintf("profile %q has keys in the keychain but no section in %s; add one with 'rolevault add --add-config %s' so other tools see it", name, c.config.path, name))
		} else {
			return nil, "", r.notFound(name, ref)
		}
	}
	file = c.config.path
	if !ps.config.defined() && ps.credentials.defined() {
		file = c.credentials.path
	}
	vals = make(map[string]rawValue, 8)
	target := name == r.target

	// Flags, then the environment: aws-vault applies these to every profile
	// it loads, except the ones that pick a role or an MFA device, which
	// only make sense for the profile the user asked for.
	set := func(key, val, from string) {
		if _, done := vals[key]; !done && val != "" {
			vals[key] = rawValue{val: val, env: from}
		}
	}
	if r.ov.Region != "" {
		set(keyRegion, r.ov.Region, "--region")
	}
	if target && r.ov.MFASerial != "" {
		set(keyMFASerial, r.ov.MFASerial, "--mfa-serial")
	}
	env := func(key, envVar string) {
		if v, ok := c.lookupEnv(envVar); ok {
			set(key, strings.TrimSpace(v), envVar)
		}
	}
	env(keyRegion, "AWS_REGION")
	env(keyRegion, "AWS_DEFAULT_REGION")
	env(keySTSRegionalEndpoints, "AWS_STS_REGIONAL_ENDPOINTS")
	env(keyIgnoreEndpointURLs, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
	env(KeyCABundle, "AWS_CA_BUNDLE")
	// Endpoint variables are weighed against the services section in
	// buildEndpoints.
	if target {
		env(keyMFASerial, "AWS_MFA_SERIAL")
		env(keyRoleARN, "AWS_ROLE_ARN")
		env(keyRoleSessionName, "AWS_ROLE_SESSION_NAME")
		env(keySessionTags, "AWS_SESSION_TAGS")
		env(keyTransitiveSessionTags, "AWS_TRANSITIVE_TAGS")
		env(keySourceIdentity, "AWS_SOURCE_IDENTITY")
	}

	own, err := r.sectionValues(name, ps)
	if err != nil {
		return nil, "", err
	}
	r.addSections(vals, own, "", nil)

	// include_profile (or its old name parent_profile) pulls in another
	// profile's keys, then that profile's include, and so on.
	includeChain := []string{name}
	cur := own
	for {
		inc, incKey, ok := r.includeOf(cur)
		if !ok {
			break
		}
		for i, n := range includeChain {
			if n == inc.val {
				cycle := append(append([]string{}, includeChain[i:]...), inc.val)
				return nil, "", r.errAt(ErrIncludeProfileCycle, cur.name, incKey, inc,
					incKey+" cycle "+clip(strings.Join(cycle, " → ")),
					"remove one of the "+incKey+" links in the cycle")
			}
		}
		next, ok := c.profiles[inc.val]
		if !ok {
			e := r.errAt(ErrIncludeProfileNotFound, cur.name, incKey, inc,
				fmt.Sprintf("%s names profile %q, which is not defined", incKey, clip(inc.val)), "")
			e.Advice = r.didYouMean(inc.val, "define [profile "+inc.val+"] or fix the name")
			return nil, "", e
		}
		includeChain = append(includeChain, inc.val)
		if cur, err = r.sectionValues(inc.val, next); err != nil {
			return nil, "", err
		}
		r.addSections(vals, cur, incKey, keysNotIncluded)
	}

	if name != defaultProfile {
		if def, ok := c.profiles[defaultProfile]; ok {
			dv, err := r.sectionValues(defaultProfile, def)
			if err != nil {
				return nil, "", err
			}
			r.addSections(vals, dv, "[default]", nil)
		}
	}
	return vals, file, nil
}

// sectionValues are one profile's own keys, read from its sections once per
// Resolve. We copy them out of ini.v1 rather than call Section.GetKey, which
// treats "profile a.b" as a child of "profile a" and inherits its keys — a
// rule the AWS config does not have.
type sectionValues struct {
	name        string
	credentials map[string]string
	config      map[string]string
}

func (r *resolver) sectionValues(name string, ps *profileSections) (sectionValues, error) {
	sv := sectionValues{name: name}
	var err error
	if sv.credentials, err = ps.credentials.values(); err != nil {
		return sv, err
	}
	sv.config, err = ps.config.values()
	return sv, err
}

// get reads key from a profile's own sections, the credentials file first
// (botocore lets it override the config file).
func (r *resolver) get(sv sectionValues, key string) (rawValue, bool) {
	if v := strings.TrimSpace(sv.credentials[key]); v != "" {
		return rawValue{val: v, file: r.c.credentials.path, profile: sv.name}, true
	}
	if v := strings.TrimSpace(sv.config[key]); v != "" {
		return rawValue{val: v, file: r.c.config.path, profile: sv.name}, true
	}
	return rawValue{}, false
}

// includeOf returns the include_profile (or parent_profile) a profile's own
// sections name.
func (r *resolver) includeOf(sv sectionValues) (rawValue, string, bool) {
	for _, key := range []string{keyIncludeProfile, keyParentProfile} {
		if v, ok := r.get(sv, key); ok {
			if key == keyParentProfile {
				r.warn(fmt.Sprintf("profile %q: parent_profile is deprecated; rename it to include_profile", sv.name))
			}
			return v, key, true
		}
	}
	return rawValue{}, "", false
}

// addSections fills vals with the keys of a profile's sections that are not
// set yet. via says how the profile was reached ("" for the profile itself);
// skip lists keys not to take; for [default] only defaultInheritedKeys count.
func (r *resolver) addSections(vals map[string]rawValue, sv sectionValues, via string, skip map[string]bool) {
	for _, key := range profileKeys {
		if _, done := vals[key]; done || skip[key] {
			continue
		}
		if via == "[default]" && !defaultInheritedKeys[key] {
			continue
		}
		if v, ok := r.get(sv, key); ok {
			v.via = via
			vals[key] = v
		}
	}
}

// build parses and checks the collected values into a Profile.
func (r *resolver) build(name, file string, vals map[string]rawValue) (*Profile, error) {
	c := r.c
	p := &Profile{Name: name, File: file, Origins: make(map[string]string, len(vals)+2)}
	str := func(key string) string {
		v, ok := vals[key]
		if !ok {
			return ""
		}
		p.Origins[key] = v.origin()
		return v.val
	}
	bad := func(kind error, key, msg, advice string) error {
		return r.errAt(kind, name, key, vals[key], msg, advice)
	}

	p.Region = str(keyRegion)
	p.MFASerial = str(keyMFASerial)
	p.MFAProcess = command(str(keyMFAProcess))
	p.RoleSessionName = str(keyRoleSessionName)
	p.ExternalID = str(keyExternalID)
	p.SourceIdentity = str(keySourceIdentity)
	p.CredentialProcess = command(str(keyCredentialProcess))
	p.WebIdentityTokenFile = str(keyWebIdentityTokenFile)
	p.WebIdentityTokenProcess = command(str(keyWebIdentityTokenProc))
	p.SourceProfileName = str(keySourceProfile)
	p.CABundle = str(KeyCABundle)

	if v := str(keySTSRegionalEndpoints); v != "" {
		if v != "regional" && v != "legacy" {
			return nil, bad(ErrInvalidValue, keySTSRegionalEndpoints,
				fmt.Sprintf("sts_regional_endpoints %q must be \"regional\" or \"legacy\"", clip(v)),
				"set it to regional (the default in current SDKs) or legacy")
		}
		p.STSRegionalEndpoints = v
	}
	if err := r.buildEndpoints(p, vals); err != nil {
		return nil, err
	}

	if v := str(keyRoleARN); v != "" {
		if !ValidRoleARN(v) {
			return nil, bad(ErrInvalidRoleARN, keyRoleARN,
				fmt.Sprintf("role_arn %q is not an IAM role ARN", clip(v)),
				"a role ARN looks like arn:aws:iam::123456789012:role/NAME (copy it from the role's page in the IAM console)")
		}
		p.RoleARN = v
	}
	if p.RoleSessionName != "" && !validSessionName(p.RoleSessionName) {
		return nil, bad(ErrInvalidValue, keyRoleSessionName,
			fmt.Sprintf("role_session_name %q must be 2 to 64 characters of letters, digits and +=,.@_-", clip(p.RoleSessionName)),
			"pick a name such as your user name")
	}

	if v := str(KeyDurationSeconds); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil {
			return nil, bad(ErrInvalidDuration, KeyDurationSeconds,
				fmt.Sprintf("duration_seconds %q is not a whole number of seconds", clip(v)),
				"use seconds between 900 (15m) and 43200 (12h), e.g. duration_seconds = 3600")
		}
		if secs < 900 || secs > 43200 {
			return nil, bad(ErrInvalidDuration, KeyDurationSeconds,
				fmt.Sprintf("duration_seconds %d is outside 900..43200", secs),
				"AssumeRole accepts 900 (15m) to 43200 (12h) seconds, and no more than the role's maximum session duration")
		}
		p.AssumeRoleDuration = time.Duration(secs) * time.Second
	}

	if v := str(keySessionTags); v != "" {
		tags, err := parseSessionTags(v)
		if err != nil {
			return nil, bad(ErrInvalidValue, keySessionTags, fmt.Sprintf("session_tags %q: %v", clip(v), err),
				"write tags as key1=value1,key2=value2")
		}
		p.SessionTags = tags
	}
	if v := str(keyTransitiveSessionTags); v != "" {
		p.TransitiveSessionTags = splitList(v)
	}

	if err := r.applyTTLs(p, name); err != nil {
		return nil, err
	}

	if v := str(keyCredentialSource); v != "" {
		switch v {
		case "Environment":
			p.CredentialSource = v
		case "Ec2InstanceMetadata", "EcsContainer":
			return nil, bad(ErrUnsupportedCredentialSource, keyCredentialSource,
				fmt.Sprintf("credential_source %s is not supported by rolevault", v),
				"on an EC2 instance or in a container, let the AWS CLI or SDK use the instance's role directly; or use credential_source = Environment")
		default:
			return nil, bad(ErrInvalidValue, keyCredentialSource,
				fmt.Sprintf("credential_source %q is not one of Environment, Ec2InstanceMetadata, EcsContainer", clip(v)),
				"rolevault supports credential_source = Environment")
		}
	}

	if err := r.buildSSO(p, vals); err != nil {
		return nil, err
	}
	if err := r.buildFileKeys(p, vals); err != nil {
		return nil, err
	}
	if err := r.checkKeySources(p, vals); err != nil {
		return nil, err
	}
	if !c.HasProfile(name) {
		p.File = ""
	}
	return p, nil
}

// buildEndpoints picks the STS and IAM endpoints as the AWS SDKs do
// ("service-specific endpoints"): AWS_ENDPOINT_URL_<SERVICE>, then
// AWS_ENDPOINT_URL, then endpoint_url under the service in the [services
// NAME] section the profile names, then the profile's endpoint_url; none of
// them when ignore_configured_endpoint_urls (or its variable, which wins)
// is true. EndpointURL is the one for every service, which a child is told.
func (r *resolver) buildEndpoints(p *Profile, vals map[string]rawValue) error {
	if v, ok := vals[keyIgnoreEndpointURLs]; ok {
		switch {
		case strings.EqualFold(v.val, "true"):
			p.IgnoreConfiguredEndpointURLs = true
			p.Origins[keyIgnoreEndpointURLs] = v.origin()
		case strings.EqualFold(v.val, "false"):
		default:
			return r.errAt(ErrInvalidValue, p.Name, keyIgnoreEndpointURLs, v,
				fmt.Sprintf("ignore_configured_endpoint_urls %q must be true or false", clip(v.val)),
				"set it to true to ignore every configured endpoint URL, or false")
		}
	}
	if p.IgnoreConfiguredEndpointURLs {
		return nil
	}
	envValue := func(name string) (rawValue, bool) {
		v, ok := r.c.lookupEnv(name)
		v = strings.TrimSpace(v)
		return rawValue{val: v, env: name}, ok && v != ""
	}
	general, hasGeneral := envValue("AWS_ENDPOINT_URL")
	if !hasGeneral {
		general, hasGeneral = vals[keyEndpointURL]
	}
	var services map[string]map[string]string
	servicesName := ""
	if v, ok := vals[keyServices]; ok {
		servicesName = v.val
		sec, found := r.c.services[servicesName]
		if !found {
			r.warn(fmt.Sprintf("profile %q: services names [services %s], which is not in %s; no endpoint is taken from it", p.Name, clip(servicesName), r.c.config.path))
		} else {
			var err error
			if services, err = sec.nestedValues(); err != nil {
				return err
			}
		}
	}
	pick := func(service string) (rawValue, bool) {
		if v, ok := envValue("AWS_ENDPOINT_URL_" + strings.ToUpper(service)); ok {
			return v, true
		}
		if v, ok := envValue("AWS_ENDPOINT_URL"); ok {
			return v, true
		}
		if ep := strings.TrimSpace(services[service][keyEndpointURL]); ep != "" {
			// env carries the origin for errors and explain.
			return rawValue{val: ep, env: fmt.Sprintf("[services %s] %s endpoint_url in %s", servicesName, service, r.c.config.path)}, true
		}
		v, ok := vals[keyEndpointURL]
		return v, ok
	}
	check := func(v rawValue) error {
		if validEndpointURL(v.val) {
			return nil
		}
		if strings.HasPrefix(v.env, "[services ") {
			return &ConfigError{Kind: ErrInvalidValue, File: r.c.config.path, Profile: p.Name,
				Line:   r.c.lineOf(r.c.config.path, sectionServices, servicesName, ""),
				Msg:    fmt.Sprintf("endpoint_url %q in [services %s] is not an http(s) URL", clip(v.val), servicesName),
				Advice: "use a full URL such as https://sts.eu-west-1.amazonaws.com"}
		}
		return r.errAt(ErrInvalidValue, p.Name, keyEndpointURL, v,
			fmt.Sprintf("endpoint_url %q is not an http(s) URL", clip(v.val)),
			"use a full URL such as https://sts.eu-west-1.amazonaws.com")
	}
	if hasGeneral {
		if err := check(general); err != nil {
			return err
		}
		p.EndpointURL = general.val
		p.Origins[keyEndpointURL] = general.origin()
	}
	for _, svc := range []struct {
		name   string
		dst    *string
		origin string
	}{{"sts", &p.STSEndpointURL, OriginSTSEndpointURL}, {"iam", &p.IAMEndpointURL, OriginIAMEndpointURL}} {
		v, ok := pick(svc.name)
		if !ok {
			continue
		}
		if err := check(v); err != nil {
			return err
		}
		*svc.dst = v.val
		p.Origins[svc.origin] = v.origin()
	}
	return nil
}

// applyTTLs reads the TTL environment variables (Go durations, as aws-vault
// reads them) and --duration. Like aws-vault, they apply to every profile
// of the chain, not only the target.
func (r *resolver) applyTTLs(p *Profile, name string) error {
	type ttl struct {
		env    string
		dst    *time.Duration
		origin string
	}
	ttls := []ttl{
		{"AWS_ASSUME_ROLE_TTL", &p.AssumeRoleDuration, KeyDurationSeconds},
		{"AWS_SESSION_TOKEN_TTL", &p.SessionTokenDuration, OriginSessionTokenTTL},
		{"AWS_CHAINED_SESSION_TOKEN_TTL", &p.ChainedSessionTokenDuration, OriginChainedSessionTokenTTL},
		{"AWS_FEDERATION_TOKEN_TTL", &p.FederationTokenDuration, OriginFederationTokenTTL},
		{"AWS_MIN_TTL", &p.MinTTL, OriginMinTTL},
	}
	for _, t := range ttls {
		v, ok := r.c.lookupEnv(t.env)
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return &ConfigError{Kind: ErrInvalidDuration, Key: t.env, Profile: name,
				Msg:    fmt.Sprintf("%s=%q is not a positive duration", t.env, clip(v)),
				Advice: "use a Go duration such as 1h, 90m or 3600s"}
		}
		*t.dst = d
		p.Origins[t.origin] = t.env
	}
	if d := r.ov.Duration; d != 0 {
		if d < 0 {
			return &ConfigError{Kind: ErrInvalidDuration, Key: "--duration", Profile: name,
				Msg: fmt.Sprintf("--duration %s is negative", d), Advice: "use a duration such as 1h"}
		}
		p.AssumeRoleDuration, p.SessionTokenDuration, p.FederationTokenDuration = d, d, d
		p.Origins[KeyDurationSeconds] = "--duration"
		p.Origins[OriginSessionTokenTTL] = "--duration"
		p.Origins[OriginFederationTokenTTL] = "--duration"
	}
	return nil
}

// Keys of Profile.Origins for settings that are not config keys. Config
// keys (region, role_arn, duration_seconds, …) are their own origin keys;
// duration_seconds records where AssumeRoleDuration came from.
const (
	OriginSessionTokenTTL        = "session_token_ttl"
	OriginChainedSessionTokenTTL = "chained_session_token_ttl"
	OriginFederationTokenTTL     = "federation_token_ttl"
	OriginMinTTL                 = "min_ttl"
	OriginSTSEndpointURL         = "sts_endpoint_url"
	OriginIAMEndpointURL         = "iam_endpoint_url"
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
	p.SSO = s
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
			roleSource = roleSource || s.key != keyAccessKeyID
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
		if p.FileKeys != nil || r.hasStoredKeys(p.Name) {
			advice = fmt.Sprintf("this profile has its own keys: to assume the role with them, add source_profile = %s", p.Name)
		}
		return r.errAt(ErrMissingCredentialSource, p.Name, keyRoleARN, vals[keyRoleARN],
			"role_arn is set but neither source_profile nor credential_source says whose keys assume it", advice)
	}
	return nil
}

func (r *resolver) hasStoredKeys(name string) bool {
	return r.ov.HasStoredKeys != nil && r.ov.HasStoredKeys(name)
}

// errAt builds a ConfigError located where v came from: a file line, or the
// environment variable or flag.
func (r *resolver) errAt(kind error, profile, key string, v rawValue, msg, advice string) *ConfigError {
	e := &ConfigError{Kind: kind, Profile: profile, Msg: msg, Advice: advice}
	switch {
	case v.env != "":
		e.Key = v.env
		if !strings.Contains(msg, v.env) {
			e.Msg = msg + " (from " + v.env + ")"
		}
	case v.file != "":
		e.File = v.file
		e.Key = key
		if key != "" {
			e.Line = r.c.lineOf(v.file, sectionProfile, v.profile, key)
		} else {
			e.Line = r.c.lineOf(v.file, sectionProfile, v.profile, "")
		}
		if v.via != "" && v.profile != profile {
			if v.via == "[default]" {
				e.Msg += " (inherited from [default])"
			} else {
				e.Msg += fmt.Sprintf(" (from %s %q)", v.via, v.profile)
			}
		}
	default:
		e.File = r.c.config.path
		e.Line = r.c.lineOf(e.File, sectionProfile, profile, "")
		e.Key = key
	}
	return e
}

func (r *resolver) notFound(name string, ref *referrer) error {
	c := r.c
	if ref == nil {
		return &ConfigError{Kind: ErrProfileNotFound,
			Msg:    fmt.Sprintf("profile %q is not defined in %s or %s", clip(name), c.config.path, c.credentials.path),
			Advice: r.didYouMean(name, "run 'rolevault list --profiles' to see the profiles, or 'rolevault add "+name+"' to store keys for it")}
	}
	e := r.errAt(ErrSourceProfileNotFound, ref.profile, ref.key, ref.val,
		fmt.Sprintf("source_profile names profile %q, which is not defined", clip(name)), "")
	e.Advice = r.didYouMean(name, "define [profile "+name+"] (and store its keys with 'rolevault add "+name+"'), or fix the name")
	return e
}

func (r *resolver) didYouMean(name, otherwise string) string {
	if s := suggest(name, r.c.ProfileNames()); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return otherwise
}

// ValidRoleARN reports whether s is an IAM role ARN:
// arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME with a 12-digit account.
func ValidRoleARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[3] != "" {
		return false
	}
	if !validPartition(parts[1]) || len(parts[4]) != 12 || !allDigits(parts[4]) {
		return false
	}
	rest, ok := strings.CutPrefix(parts[5], "role/")
	if !ok || rest == "" || strings.HasSuffix(rest, "/") || strings.HasPrefix(rest, "/") {
		return false
	}
	for _, r := range rest {
		if !isIAMNameRune(r) && r != '/' {
			return false
		}
	}
	return true
}

// validPartition accepts aws and the aws-* partitions (aws-cn, aws-us-gov,
// aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc, and any new one of the
// same shape) without a list to keep current.
func validPartition(p string) bool {
	if p == "aws" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "aws-")
	if !ok || rest == "" || strings.HasSuffix(rest, "-") {
		return false
	}
	for _, r := range rest {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isIAMNameRune is the character set of IAM role and session names.
func isIAMNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@_-", r)
}

func validSessionName(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !isIAMNameRune(r) {
			return false
		}
	}
	return true
}

// command is a command key's value as the line the shell runs: continuation
// lines join with a space, as the AWS CLI runs them (it splits the value
// into words). The SDK keeps the newline, so sh would run each line as a
// command of its own, which is never what a continued command means.
func command(v string) string {
	return strings.ReplaceAll(v, "\n", " ")
}

func validEndpointURL(s string) bool {
	scheme, rest, ok := strings.Cut(s, "://")
	return ok && (scheme == "https" || scheme == "http") && rest != "" && rest[0] != '/'
}

// parseSessionTags reads aws-vault's format: key1=value1,key2=value2.
func parseSessionTags(s string) (map[string]string, error) {
	tags := make(map[string]string)
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", strings.TrimSpace(kv))
		}
		tags[k] = strings.TrimSpace(v)
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("no tags")
	}
	return tags, nil
}

// splitList reads a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}
