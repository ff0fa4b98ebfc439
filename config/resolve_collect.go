// Collecting a profile's raw settings in precedence order: flags, environment, its sections, include_profile, [default].

package config

import (
	"fmt"
	"strings"
)

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

	r.collectOverrides(vals, target)

	own, err := r.sectionValues(name, ps)
	if err != nil {
		return nil, "", err
	}
	r.addSections(vals, own, "", nil)

	if err := r.collectIncludes(vals, name, own); err != nil {
		return nil, "", err
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

// collectOverrides adds the flags, then the environment. aws-vault applies
// these to every profile it loads, except the ones that pick a role or an
// MFA device, which only make sense for the target profile.
func (r *resolver) collectOverrides(vals map[string]rawValue, target bool) {
	c := r.c
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
}

// collectIncludes follows include_profile (or its old name parent_profile)
// from the profile's own sections own: each pulls in another profile's keys,
// then that profile's include, and so on.
func (r *resolver) collectIncludes(vals map[string]rawValue, name string, own sectionValues) error {
	c := r.c
	var err error
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
				return r.errAt(ErrIncludeProfileCycle, cur.name, incKey, inc,
					incKey+" cycle "+clip(strings.Join(cycle, " → ")),
					"remove one of the "+incKey+" links in the cycle")
			}
		}
		next, ok := c.profiles[inc.val]
		if !ok {
			e := r.errAt(ErrIncludeProfileNotFound, cur.name, incKey, inc,
				fmt.Sprintf("%s names profile %q, which is not defined", incKey, clip(inc.val)), "")
			e.Advice = r.didYouMean(inc.val, "define [profile "+inc.val+"] or fix the name")
			return e
		}
		includeChain = append(includeChain, inc.val)
		if cur, err = r.sectionValues(inc.val, next); err != nil {
			return err
		}
		r.addSections(vals, cur, incKey, keysNotIncluded)
	}
	return nil
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
