package ststest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

var stsActions = map[string]operation{
	"GetCallerIdentity":         {handle: (*Server).getCallerIdentity},
	"GetSessionToken":           {handle: (*Server).getSessionToken},
	"AssumeRole":                {handle: (*Server).assumeRole},
	"GetFederationToken":        {handle: (*Server).getFederationToken},
	"AssumeRoleWithWebIdentity": {unsigned: true, handle: (*Server).assumeRoleWithWebIdentity},
}

const roleChainingLimit = time.Hour

func (s *Server) getCallerIdentity(c *caller, _ url.Values) ([]node, *apiError) {
	id := ""
	if c.session != nil {
		id = c.session.UserID
	} else {
		id = c.user.id
	}
	return []node{leaf("Arn", c.arn()), leaf("UserId", id), leaf("Account", c.account())}, nil
}

func (s *Server) getSessionToken(c *caller, p url.Values) ([]node, *apiError) {
	var v validation
	dur, set := integer(&v, p, "DurationSeconds", "durationSeconds", 900, 129600)
	serial, hasSerial := str(&v, p, "SerialNumber", "serialNumber", false, 9, 256, &patSerial)
	code, _ := str(&v, p, "TokenCode", "tokenCode", false, 6, 6, &patTokenCode)
	if e := v.err(); e != nil {
		return nil, e
	}
	if c.session != nil {
		return nil, errAccessDenied("Cannot call GetSessionToken with session credentials")
	}
	if !set {
		dur = 43200
	}
	mfa := false
	if hasSerial {
		if e := s.verifyMFA(c, serial, code); e != nil {
			return nil, e
		}
		mfa = true
	}
	mfaAt := time.Time{}
	if mfa {
		mfaAt = s.now()
	}
	ss := s.issue(&Session{
		Kind:              KindSessionToken,
		MFAAuthenticated:  mfaAt,
		Account:           c.user.account,
		Arn:               c.user.arn(),
		UserID:            c.user.id,
		CallerArn:         c.user.arn(),
		CallerAccessKeyID: c.accessKeyID,
		UserName:          c.user.name,
		MFA:               mfa,
		MFASerial:         serialIf(mfa, serial),
	}, time.Duration(dur)*time.Second)
	return []node{credentialsNode(ss)}, nil
}

func serialIf(ok bool, serial string) string {
	if ok {
		return serial
	}
	return ""
}

// verifyMFA checks a TOTP code for a device of the calling user. The
// device's last accepted step is remembered, so a code works once.
func (s *Server) verifyMFA(c *caller, serial, code string) *apiError {
	s.mfaChecks++
	d := s.mfa[serial]
	if d == nil || c.user == nil || d.owner != c.user {
		return errAccessDenied(msgBadMFASerial)
	}
	step, ok := matchTOTP(d.secret, code, s.now())
	if code == "" || !ok || step <= d.lastStep {
		return errAccessDenied(msgBadMFACode)
	}
	d.lastStep = step
	return nil
}

func (s *Server) assumeRole(c *caller, p url.Values) ([]node, *apiError) {
	var v validation
	roleArn, _ := str(&v, p, "RoleArn", "roleArn", true, 20, 2048, nil)
	sessName, _ := str(&v, p, "RoleSessionName", "roleSessionName", true, 2, 64, &patSessionName)
	dur, durSet := integer(&v, p, "DurationSeconds", "durationSeconds", 900, 43200)
	extID, _ := str(&v, p, "ExternalId", "externalId", false, 2, 1224, &patExternalID)
	serial, hasSerial := str(&v, p, "SerialNumber", "serialNumber", false, 9, 256, &patSerial)
	code, _ := str(&v, p, "TokenCode", "tokenCode", false, 6, 6, &patTokenCode)
	srcID, _ := str(&v, p, "SourceIdentity", "sourceIdentity", false, 2, 64, &patSessionName)
	sp := policyParams(&v, p)
	sp.tags = tagsParam(&v, p)
	sp.transitive = list(p, "TransitiveTagKeys")
	for i, k := range sp.transitive {
		checkString(&v, k, fmt.Sprintf("transitiveTagKeys.%d.member", i+1), 1, 128, &patTagKey)
	}
	if len(sp.transitive) > 50 {
		v.add("["+strings.Join(sp.transitive, ", ")+"]", "transitiveTagKeys", "Member must have length less than or equal to 50")
	}
	if e := v.err(); e != nil {
		return nil, e
	}

	var inheritedTags map[string]string
	var inheritedTransitive []string
	if c.session != nil {
		for _, k := range c.session.TransitiveTagKeys {
			if inheritedTags == nil {
				inheritedTags = map[string]string{}
			}
			inheritedTags[k] = c.session.Tags[k]
			inheritedTransitive = append(inheritedTransitive, k)
		}
	}
	packed, e := sp.check(inheritedTags, inheritedTransitive)
	if e != nil {
		return nil, e
	}

	if c.session != nil && c.session.Kind == KindFederationToken {
		return nil, errNotAuthorized(c.arn(), "sts:AssumeRole", roleArn)
	}
	mfa := c.session != nil && c.session.MFA
	mfaSerial := ""
	var mfaAt time.Time
	if c.session != nil {
		mfaSerial, mfaAt = c.session.MFASerial, c.session.MFAAuthenticated
	}
	if hasSerial {
		if e := s.verifyMFA(c, serial, code); e != nil {
			return nil, e
		}
		mfa, mfaSerial, mfaAt = true, serial, s.now()
	}
	// Each action the request needs must be allowed by the caller's
	// identity policies and by the role's trust policy; AWS words the
	// refusal the same whichever side is missing.
	actions := []string{"sts:AssumeRole"}
	if len(sp.tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if srcID != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	r := s.roles[roleArn]
	trustCtx := map[string]string{}
	if extID != "" {
		trustCtx["sts:externalid"] = extID
	}
	if srcID != "" {
		trustCtx["sts:sourceidentity"] = srcID
	}
	for _, a := range actions {
		if !s.identityAllows(c, a, roleArn, hasSerial) {
			return nil, errNotAuthorized(c.arn(), a, roleArn)
		}
		switch {
		case r == nil:
			return nil, errNotAuthorized(c.arn(), a, roleArn)
		case r.trust != nil:
			if !s.trustAllows(r, c, a, hasSerial, trustCtx) {
				return nil, errNotAuthorized(c.arn(), a, roleArn)
			}
		case a == "sts:AssumeRole":
			if !trusts(r, c) || (r.opts.RequireMFA && !mfa) || (r.opts.ExternalID != "" && r.opts.ExternalID != extID) {
				return nil, errNotAuthorized(c.arn(), a, roleArn)
			}
		}
	}

	chained := c.session != nil
	if !durSet {
		dur = 3600
	}
	requested := time.Duration(dur) * time.Second
	if chained && durSet && requested > roleChainingLimit {
		return nil, errValidation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if requested > r.opts.MaxSessionDuration {
		return nil, errValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if c.session != nil && c.session.SourceIdentity != "" {
		if srcID != "" && srcID != c.session.SourceIdentity {
			return nil, errNotAuthorized(c.arn(), "sts:SetSourceIdentity", roleArn)
		}
		srcID = c.session.SourceIdentity
	}

	tags := tagMap(sp.tags)
	for k, val := range inheritedTags {
		if tags == nil {
			tags = map[string]string{}
		}
		tags[k] = val
	}
	transitive := append(slices.Clone(inheritedTransitive), sp.transitive...)
	userName := ""
	if c.user != nil {
		userName = c.user.name
	} else if c.session != nil {
		userName = c.session.UserName
	}
	parent := ""
	if c.session != nil {
		parent = c.accessKeyID
	}
	roleID := r.id + ":" + sessName
	ss := s.issue(&Session{
		Kind:              KindAssumeRole,
		Account:           r.account,
		Arn:               "arn:aws:sts::" + r.account + ":assumed-role/" + r.name + "/" + sessName,
		UserID:            roleID,
		CallerArn:         c.arn(),
		CallerAccessKeyID: c.accessKeyID,
		UserName:          userName,
		RoleArn:           r.arn,
		RoleSessionName:   sessName,
		ExternalID:        extID,
		Policy:            sp.policy,
		PolicyArns:        sp.policyArns,
		MFA:               mfa,
		MFASerial:         serialIf(mfa, mfaSerial),
		MFAAuthenticated:  mfaAt,
		SourceIdentity:    srcID,
		Tags:              tags,
		TransitiveTagKeys: transitive,
		Chained:           chained,
		Parent:            parent,
	}, requested)
	out := []node{
		credentialsNode(ss),
		el("AssumedRoleUser", leaf("AssumedRoleId", roleID), leaf("Arn", ss.Arn)),
	}
	if packed >= 0 {
		out = append(out, leafInt("PackedPolicySize", packed))
	}
	out = append(out, opt("SourceIdentity", srcID)...)
	return out, nil
}

// trusts evaluates the role's trust list against the caller, reduced to the
// principal forms credential helpers meet.
func trusts(r *role, c *caller) bool {
	for _, p := range r.opts.Trust {
		switch {
		case p == "*":
			return true
		case rootArnRE.MatchString(p):
			if rootArnRE.FindStringSubmatch(p)[1] == c.account() {
				return true
			}
		case c.isRoleSession():
			if p == c.session.RoleArn || p == c.session.Arn {
				return true
			}
		case c.user != nil:
			if p == c.user.arn() {
				return true
			}
		}
	}
	return false
}

func (s *Server) getFederationToken(c *caller, p url.Values) ([]node, *apiError) {
	var v validation
	name, _ := str(&v, p, "Name", "name", true, 2, 32, &patSessionName)
	dur, set := integer(&v, p, "DurationSeconds", "durationSeconds", 900, 129600)
	sp := policyParams(&v, p)
	sp.tags = tagsParam(&v, p)
	if e := v.err(); e != nil {
		return nil, e
	}
	packed, e := sp.check(nil, nil)
	if e != nil {
		return nil, e
	}
	if c.session != nil {
		return nil, errAccessDenied("Cannot call GetFederationToken with session credentials")
	}
	fedArn := "arn:aws:sts::" + c.user.account + ":federated-user/" + name
	if !s.identityAllows(c, "sts:GetFederationToken", fedArn, false) {
		return nil, errNotAuthorized(c.arn(), "sts:GetFederationToken", fedArn)
	}
	if !set {
		dur = 43200
	}
	fedID := c.user.account + ":" + name
	ss := s.issue(&Session{
		Kind:              KindFederationToken,
		Account:           c.user.account,
		Arn:               "arn:aws:sts::" + c.user.account + ":federated-user/" + name,
		UserID:            fedID,
		CallerArn:         c.user.arn(),
		CallerAccessKeyID: c.accessKeyID,
		UserName:          c.user.name,
		FederatedName:     name,
		Policy:            sp.policy,
		PolicyArns:        sp.policyArns,
		Tags:              tagMap(sp.tags),
	}, time.Duration(dur)*time.Second)
	out := []node{
		credentialsNode(ss),
		el("FederatedUser", leaf("FederatedUserId", fedID), leaf("Arn", ss.Arn)),
	}
	if packed >= 0 {
		out = append(out, leafInt("PackedPolicySize", packed))
	}
	return out, nil
}

func (s *Server) assumeRoleWithWebIdentity(_ *caller, p url.Values) ([]node, *apiError) {
	var v validation
	roleArn, _ := str(&v, p, "RoleArn", "roleArn", true, 20, 2048, nil)
	sessName, _ := str(&v, p, "RoleSessionName", "roleSessionName", true, 2, 64, &patSessionName)
	token, _ := str(&v, p, "WebIdentityToken", "webIdentityToken", true, 4, 20000, nil)
	providerID, _ := str(&v, p, "ProviderId", "providerId", false, 4, 2048, nil)
	dur, durSet := integer(&v, p, "DurationSeconds", "durationSeconds", 900, 43200)
	sp := policyParams(&v, p)
	if e := v.err(); e != nil {
		return nil, e
	}
	packed, e := sp.check(nil, nil)
	if e != nil {
		return nil, e
	}
	claims, isJWT := jwtClaims(token)
	known := false
	for _, r := range s.roles {
		if slices.Contains(r.opts.WebIdentityTokens, token) {
			known = true
			break
		}
	}
	if !known {
		if !isJWT {
			return nil, newError(http.StatusBadRequest, "InvalidIdentityToken",
				"The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
		}
		return nil, newError(http.StatusBadRequest, "InvalidIdentityToken",
			"Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
	}
	now := s.now()
	if exp, ok := claims["exp"].(float64); ok && float64(now.Unix()) >= exp {
		return nil, newError(http.StatusBadRequest, "ExpiredTokenException",
			"Token expired: current date/time %d must be before the expiration date/time%d", now.Unix(), int64(exp))
	}
	r := s.roles[roleArn]
	if r == nil || !slices.Contains(r.opts.WebIdentityTokens, token) {
		return nil, errAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
	if !durSet {
		dur = 3600
	}
	requested := time.Duration(dur) * time.Second
	if requested > r.opts.MaxSessionDuration {
		return nil, errValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	subject, _ := claims["sub"].(string)
	provider, _ := claims["iss"].(string)
	provider = strings.TrimPrefix(provider, "https://")
	if provider == "" {
		provider = providerID
	}
	audience, _ := claims["aud"].(string)
	if auds, ok := claims["aud"].([]any); ok && len(auds) > 0 {
		audience, _ = auds[0].(string)
	}
	roleID := r.id + ":" + sessName
	ss := s.issue(&Session{
		Kind:            KindWebIdentity,
		Account:         r.account,
		Arn:             "arn:aws:sts::" + r.account + ":assumed-role/" + r.name + "/" + sessName,
		UserID:          roleID,
		CallerArn:       provider,
		RoleArn:         r.arn,
		RoleSessionName: sessName,
		Policy:          sp.policy,
		PolicyArns:      sp.policyArns,
	}, requested)
	out := []node{credentialsNode(ss)}
	out = append(out, opt("SubjectFromWebIdentityToken", subject)...)
	out = append(out, el("AssumedRoleUser", leaf("AssumedRoleId", roleID), leaf("Arn", ss.Arn)))
	if packed >= 0 {
		out = append(out, leafInt("PackedPolicySize", packed))
	}
	out = append(out, opt("Provider", provider)...)
	out = append(out, opt("Audience", audience)...)
	return out, nil
}

// jwtClaims decodes a JWT's payload without checking its signature; the
// emulator trusts tokens because the test registered them.
func jwtClaims(token string) (map[string]any, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return map[string]any{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return map[string]any{}, false
	}
	claims := map[string]any{}
	if json.Unmarshal(raw, &claims) != nil {
		return map[string]any{}, false
	}
	return claims, true
}

// issue mints credentials for ss and records the session. Lifetimes are
// whole seconds so the Expiration clients parse equals the one recorded.
func (s *Server) issue(ss *Session, requested time.Duration) *Session {
	now := s.now().UTC().Truncate(time.Second)
	life := requested
	// The MFA session (GetSessionToken) is left alone: a long job lives on
	// one MFA session behind many short role sessions, and that is the
	// situation the cap exists to compress.
	if s.maxLifetime > 0 && life > s.maxLifetime && ss.Kind != KindSessionToken {
		life = s.maxLifetime
	}
	ss.AccessKeyID = newSessionKeyID()
	ss.SecretAccessKey = newSecret()
	ss.SessionToken = newSessionToken()
	ss.Issued = now
	ss.Expiration = now.Add(life)
	ss.RequestedDuration = requested
	s.sessions[ss.AccessKeyID] = ss
	s.sessionOrder = append(s.sessionOrder, ss.AccessKeyID)
	return ss
}

func credentialsNode(ss *Session) node {
	return el("Credentials",
		leaf("AccessKeyId", ss.AccessKeyID),
		leaf("SecretAccessKey", ss.SecretAccessKey),
		leaf("SessionToken", ss.SessionToken),
		leafTime("Expiration", ss.Expiration),
	)
}
