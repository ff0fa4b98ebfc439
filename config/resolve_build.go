// Building a Profile from the collected settings: plain values, endpoints, durations.

package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// build parses and checks the collected values into a Profile.
func (r *resolver) build(name, file string, vals map[string]rawValue) (*Profile, error) {
	c := r.c
	p := &Profile{Name: name, File: file, Origins: make(map[string]string, len(vals)+2)}
	str := func(key string) string { return take(p, vals, key) }
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

	if err := r.buildRole(p, vals); err != nil {
		return nil, err
	}

	if err := r.applyTTLs(p, name); err != nil {
		return nil, err
	}

	if err := r.buildCredentialSource(p, vals); err != nil {
		return nil, err
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

// take returns the value of key and records where it came from.
func take(p *Profile, vals map[string]rawValue, key string) string {
	v, ok := vals[key]
	if !ok {
		return ""
	}
	p.Origins[key] = v.origin()
	return v.val
}

// buildRole reads the role settings: role_arn, role_session_name,
// duration_seconds and the session tags.
func (r *resolver) buildRole(p *Profile, vals map[string]rawValue) error {
	str := func(key string) string { return take(p, vals, key) }
	bad := func(kind error, key, msg, advice string) error {
		return r.errAt(kind, p.Name, key, vals[key], msg, advice)
	}
	if v := str(keyRoleARN); v != "" {
		if !ValidRoleARN(v) {
			return bad(ErrInvalidRoleARN, keyRoleARN,
				fmt.Sprintf("role_arn %q is not an IAM role ARN", clip(v)),
				"a role ARN looks like arn:aws:iam::123456789012:role/NAME (copy it from the role's page in the IAM console)")
		}
		p.RoleARN = v
	}
	if p.RoleSessionName != "" && !validSessionName(p.RoleSessionName) {
		return bad(ErrInvalidValue, keyRoleSessionName,
			fmt.Sprintf("role_session_name %q must be 2 to 64 characters of letters, digits and +=,.@_-", clip(p.RoleSessionName)),
			"pick a name such as your user name")
	}

	if v := str(KeyDurationSeconds); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil {
			return bad(ErrInvalidDuration, KeyDurationSeconds,
				fmt.Sprintf("duration_seconds %q is not a whole number of seconds", clip(v)),
				"use seconds between 900 (15m) and 43200 (12h), e.g. duration_seconds = 3600")
		}
		if secs < 900 || secs > 43200 {
			return bad(ErrInvalidDuration, KeyDurationSeconds,
				fmt.Sprintf("duration_seconds %d is outside 900..43200", secs),
				"AssumeRole accepts 900 (15m) to 43200 (12h) seconds, and no more than the role's maximum session duration")
		}
		p.AssumeRoleDuration = time.Duration(secs) * time.Second
	}

	if v := str(keySessionTags); v != "" {
		tags, err := parseSessionTags(v)
		if err != nil {
			return bad(ErrInvalidValue, keySessionTags, fmt.Sprintf("session_tags %q: %v", clip(v), err),
				"write tags as key1=value1,key2=value2")
		}
		p.SessionTags = tags
	}
	if v := str(keyTransitiveSessionTags); v != "" {
		p.TransitiveSessionTags = splitList(v)
	}
	return nil
}

// buildCredentialSource reads credential_source, of which rolevault
// supports Environment.
func (r *resolver) buildCredentialSource(p *Profile, vals map[string]rawValue) error {
	str := func(key string) string { return take(p, vals, key) }
	bad := func(kind error, key, msg, advice string) error {
		return r.errAt(kind, p.Name, key, vals[key], msg, advice)
	}
	if v := str(keyCredentialSource); v != "" {
		switch v {
		case "Environment":
			p.CredentialSource = v
		case "Ec2InstanceMetadata", "EcsContainer":
			return bad(ErrUnsupportedCredentialSource, keyCredentialSource,
				fmt.Sprintf("credential_source %s is not supported by rolevault", v),
				"on an EC2 instance or in a container, let the AWS CLI or SDK use the instance's role directly; or use credential_source = Environment")
		default:
			return bad(ErrInvalidValue, keyCredentialSource,
				fmt.Sprintf("credential_source %q is not one of Environment, Ec2InstanceMetadata, EcsContainer", clip(v)),
				"rolevault supports credential_source = Environment")
		}
	}
	return nil
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
	services, servicesName, err := r.servicesOf(p, vals)
	if err != nil {
		return err
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
	check := func(v rawValue) error { return r.checkEndpoint(p, v, servicesName) }
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
	}{
		{"sts", &p.STSEndpointURL, OriginSTSEndpointURL}, {"iam", &p.IAMEndpointURL, OriginIAMEndpointURL},
		// The SDK's service ids "SSO OIDC" and "SSO": AWS_ENDPOINT_URL_SSO_OIDC
		// and sso_oidc in [services], AWS_ENDPOINT_URL_SSO and sso.
		{"sso_oidc", &p.SSOOIDCEndpointURL, OriginSSOOIDCEndpointURL}, {"sso", &p.SSOEndpointURL, OriginSSOEndpointURL},
	} {
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

// servicesOf reads the [services NAME] section the profile names: each
// service's nested keys, and the name. A missing section is a warning.
func (r *resolver) servicesOf(p *Profile, vals map[string]rawValue) (map[string]map[string]string, string, error) {
	v, ok := vals[keyServices]
	if !ok {
		return nil, "", nil
	}
	sec, found := r.c.services[v.val]
	if !found {
		r.warn(fmt.Sprintf("profile %q: services names [services %s], which is not in %s; no endpoint is taken from it", p.Name, clip(v.val), r.c.config.path))
		return nil, v.val, nil
	}
	services, err := sec.nestedValues()
	return services, v.val, err
}

// checkEndpoint refuses an endpoint URL that is not http(s), pointing at
// the [services] section or the profile key it came from.
func (r *resolver) checkEndpoint(p *Profile, v rawValue, servicesName string) error {
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
