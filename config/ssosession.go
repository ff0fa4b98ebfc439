// Resolving an [sso-session] on its own, for the commands that sign in to a
// session rather than use a profile (`rolevault sso login --session NAME`).
package config

import (
	"fmt"
	"strings"
)

// ResolveSSOSession builds what a sign-in to [sso-session name] needs without
// a profile: the session's start URL, region and scopes, and the endpoints
// from the environment and flags (AWS_ENDPOINT_URL_SSO_OIDC, AWS_CA_BUNDLE, …).
// The result's Name is "sso-session NAME"; it has no account or role, so it
// can sign in and list accounts but not get role credentials.
func (c *Config) ResolveSSOSession(name string, ov Overrides) (*Profile, error) {
	sec, ok := c.ssoSessions[name]
	if !ok {
		e := &ConfigError{Kind: ErrSSOSessionNotFound, File: c.config.path,
			Msg:    fmt.Sprintf("there is no [sso-session %s] in the config", clip(name)),
			Advice: "add it with sso_start_url and sso_region"}
		if alt := suggest(name, c.SSOSessionNames()); alt != "" {
			e.Advice = fmt.Sprintf("did you mean %q?", alt)
		} else if names := c.SSOSessionNames(); len(names) > 0 {
			e.Advice = "the config has: " + strings.Join(names, ", ")
		}
		return nil, e
	}
	kv, err := sec.values()
	if err != nil {
		return nil, err
	}
	r := &resolver{c: c, ov: ov, target: name}
	vals := make(map[string]rawValue)
	r.collectOverrides(vals, false)
	p := &Profile{Name: "sso-session " + name, File: c.config.path, Origins: make(map[string]string)}
	p.Region = take(p, vals, keyRegion)
	p.CABundle = take(p, vals, KeyCABundle)
	if err := r.buildEndpoints(p, vals); err != nil {
		return nil, err
	}
	s := &SSOSettings{
		Session:            name,
		StartURL:           strings.TrimSpace(kv[keySSOStartURL]),
		Region:             strings.TrimSpace(kv[keySSORegion]),
		RegistrationScopes: strings.TrimSpace(kv[keySSORegistrationScopes]),
	}
	if err := r.checkSSOSession(p, s); err != nil {
		return nil, err
	}
	if !validEndpointURL(s.StartURL) {
		return nil, &ConfigError{Kind: ErrInvalidValue, File: c.config.path, Line: c.lineOf(c.config.path, sectionSSOSession, name, keySSOStartURL), Key: keySSOStartURL,
			Msg:    fmt.Sprintf("sso_start_url %q in [sso-session %s] is not an http(s) URL", clip(s.StartURL), clip(name)),
			Advice: "use the AWS access portal URL, such as https://my-org.awsapps.com/start"}
	}
	p.SSO = s
	return p, nil
}
