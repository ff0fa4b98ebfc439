// Resolving an [sso-session] on its own with the endpoints a sign-in uses,
// for the commands that sign in to a session rather than use a profile
// (`rolevault sso login --session NAME`).
package config

// ResolveSSOSession is SSOSession plus what a call to IAM Identity Center
// needs around it: the endpoints and CA bundle from the environment and
// flags (AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL, AWS_CA_BUNDLE, …). The
// result's Name is "[sso-session NAME]"; it has no account or role, so it can
// sign in and list accounts but not get role credentials.
func (c *Config) ResolveSSOSession(name string, ov Overrides) (*Profile, error) {
	s, err := c.SSOSession(name)
	if err != nil {
		return nil, err
	}
	r := &resolver{c: c, ov: ov, target: name}
	vals := make(map[string]rawValue)
	r.collectOverrides(vals, false)
	p := &Profile{Name: "[sso-session " + name + "]", File: c.config.path, Origins: make(map[string]string)}
	p.Region = take(p, vals, keyRegion)
	p.CABundle = take(p, vals, KeyCABundle)
	if err := r.buildEndpoints(p, vals); err != nil {
		return nil, err
	}
	p.SSO = s
	return p, nil
}
