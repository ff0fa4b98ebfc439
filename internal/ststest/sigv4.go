package ststest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	maxClockSkew = 5 * time.Minute
)

// caller is the authenticated principal behind a request.
type caller struct {
	accessKeyID string
	// user is the IAM user behind long-term keys and behind GetSessionToken
	// and GetFederationToken sessions; nil for role sessions.
	user    *user
	session *Session // nil for long-term keys
}

func (c *caller) arn() string {
	if c.session != nil {
		return c.session.Arn
	}
	return c.user.arn()
}

func (c *caller) account() string {
	if c.session != nil {
		return c.session.Account
	}
	return c.user.account
}

func (c *caller) isRoleSession() bool {
	return c.session != nil && (c.session.Kind == KindAssumeRole || c.session.Kind == KindWebIdentity || c.session.Kind == KindSSO)
}

type authResult struct {
	caller      *caller
	service     string
	accessKeyID string // as claimed by the request, known once the scope parses
}

type sigParts struct {
	algorithm, credential, signedHeaders, signature, date, token string
	presigned                                                    bool
	expires                                                      string
}

// authenticate verifies a SigV4 request the way AWS's front end does, in
// the order it reports problems: shape of the Authorization data, date,
// signed Host, algorithm, credential scope, key, signature, session token,
// expiry. The returned authResult carries the service even on failure so
// the error can use that service's XML namespace.
func (s *Server) authenticate(r *http.Request, body []byte, params url.Values) (*authResult, *apiError) {
	p, e := parseSigParts(r)
	if e != nil {
		return nil, e
	}
	res := &authResult{service: guessService(r, params)}

	t, err := time.Parse(amzDateFmt, p.date)
	if err != nil {
		if ht, herr := http.ParseTime(p.date); herr == nil && !p.presigned {
			t = ht
		} else {
			return res, newError(http.StatusBadRequest, "IncompleteSignature",
				"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", p.date)
		}
	}
	s.mu.Lock()
	wall := time.Now()
	if s.sigClock != nil {
		wall = s.sigClock()
	}
	wall = wall.Add(s.clockOffset)
	s.mu.Unlock()
	if e := checkSkew(t, wall); e != nil {
		return res, e
	}
	if p.presigned {
		secs, err := strconv.Atoi(p.expires)
		if err != nil || secs < 1 || secs > 604800 {
			return res, newError(http.StatusBadRequest, "AuthorizationQueryParametersError",
				"X-Amz-Expires must be a number of seconds between 1 and 604800.")
		}
		if wall.After(t.Add(time.Duration(secs) * time.Second)) {
			return res, errAccessDenied("Request has expired")
		}
	}

	signed := strings.Split(p.signedHeaders, ";")
	if !containsFold(signed, "host") {
		return res, newError(http.StatusForbidden, "SignatureDoesNotMatch",
			"'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if p.algorithm != sigAlgorithm {
		return res, newError(http.StatusBadRequest, "IncompleteSignature",
			"Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now). ", p.algorithm)
	}
	scope := strings.Split(strings.TrimRight(p.credential, "/"), "/")
	if len(scope) != 5 {
		return res, newError(http.StatusBadRequest, "IncompleteSignature",
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'",
			p.credential)
	}
	akid, scopeDate, region, service, term := scope[0], scope[1], scope[2], scope[3], scope[4]
	res.accessKeyID = akid
	if service == "sts" || service == "iam" {
		res.service = service
	}
	s.mu.Lock()
	iamRegion := s.iamRegion
	s.mu.Unlock()
	var bad strings.Builder
	switch {
	case region == "":
		bad.WriteString("Credential should be scoped to a valid region. ")
	case res.service == "iam" && iamRegion != "" && region != iamRegion:
		fmt.Fprintf(&bad, "Credential should be scoped to a valid region, not '%s'. ", region)
	}
	if service != res.service {
		fmt.Fprintf(&bad, "Credential should be scoped to correct service: '%s'. ", res.service)
	}
	if term != "aws4_request" {
		fmt.Fprintf(&bad, "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", term)
	}
	if scopeDate != t.UTC().Format("20060102") {
		fmt.Fprintf(&bad, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			scopeDate, t.UTC().Format("20060102"), p.date)
	}
	if bad.Len() > 0 {
		return res, newError(http.StatusForbidden, "SignatureDoesNotMatch", "%s", bad.String())
	}

	c, secret, token, expires, e := s.lookupKey(akid)
	if e != nil {
		return res, e
	}
	want := signature(secret, r, body, p, scope)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(p.signature))) {
		return res, newError(http.StatusForbidden, "SignatureDoesNotMatch", msgBadSignature)
	}
	if token != p.token {
		return res, newError(http.StatusForbidden, "InvalidClientTokenId", msgInvalidToken)
	}
	if c.session != nil && !s.Now().Before(expires) {
		return res, newError(http.StatusForbidden, "ExpiredToken", msgExpiredToken)
	}
	// IAM refuses session credentials that did not prove MFA, and federated
	// user credentials, at its front door: the token is reported invalid.
	if res.service == "iam" && c.session != nil &&
		((c.session.Kind == KindSessionToken && !c.session.MFA) || c.session.Kind == KindFederationToken) {
		return res, newError(http.StatusForbidden, "InvalidClientTokenId", msgInvalidToken)
	}
	if c.session == nil {
		s.mu.Lock()
		if k := s.keys[akid]; k != nil {
			k.LastUsed, k.LastUsedService, k.LastUsedRegion = s.now().UTC().Truncate(time.Second), res.service, region
		}
		s.mu.Unlock()
	}
	res.caller = c
	return res, nil
}

func (s *Server) lookupKey(akid string) (c *caller, secret, token string, expires time.Time, e *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[akid]; k != nil && k.Status == "Active" && !s.now().Before(k.Usable) {
		return &caller{accessKeyID: akid, user: s.users[userKey(k.Account, k.UserName)]}, k.SecretAccessKey, "", time.Time{}, nil
	}
	if ss := s.sessions[akid]; ss != nil {
		c := &caller{accessKeyID: akid, session: ss}
		if ss.Kind == KindSessionToken || ss.Kind == KindFederationToken {
			c.user = s.users[userKey(ss.Account, ss.UserName)]
		}
		return c, ss.SecretAccessKey, ss.SessionToken, ss.Expiration, nil
	}
	return nil, "", "", time.Time{}, newError(http.StatusForbidden, "InvalidClientTokenId", msgInvalidKey)
}

func checkSkew(t, now time.Time) *apiError {
	f := func(x time.Time) string { return x.UTC().Format(amzDateFmt) }
	if t.Before(now.Add(-maxClockSkew)) {
		return newError(http.StatusForbidden, "SignatureDoesNotMatch",
			"Signature expired: %s is now earlier than %s (%s - 5 min.)", f(t), f(now.Add(-maxClockSkew)), f(now))
	}
	if t.After(now.Add(maxClockSkew)) {
		return newError(http.StatusForbidden, "SignatureDoesNotMatch",
			"Signature not yet current: %s is still later than %s (%s + 5 min.)", f(t), f(now.Add(maxClockSkew)), f(now))
	}
	return nil
}

func parseSigParts(r *http.Request) (*sigParts, *apiError) {
	q := r.URL.Query()
	if auth := r.Header.Get("Authorization"); auth != "" {
		p := &sigParts{token: r.Header.Get("X-Amz-Security-Token")}
		alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
		p.algorithm = alg
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
			switch k {
			case "Credential":
				p.credential = v
			case "SignedHeaders":
				p.signedHeaders = v
			case "Signature":
				p.signature = v
			}
		}
		p.date = r.Header.Get("X-Amz-Date")
		if p.date == "" {
			p.date = r.Header.Get("Date")
		}
		var missing strings.Builder
		for _, f := range []struct{ name, val string }{
			{"Credential", p.credential}, {"Signature", p.signature}, {"SignedHeaders", p.signedHeaders},
		} {
			if f.val == "" {
				fmt.Fprintf(&missing, "Authorization header requires '%s' parameter. ", f.name)
			}
		}
		if p.date == "" {
			missing.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		if missing.Len() > 0 {
			return nil, newError(http.StatusBadRequest, "IncompleteSignature", "%sAuthorization=%s", missing.String(), auth)
		}
		return p, nil
	}
	if q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") {
		p := &sigParts{
			presigned:     true,
			algorithm:     q.Get("X-Amz-Algorithm"),
			credential:    q.Get("X-Amz-Credential"),
			signedHeaders: q.Get("X-Amz-SignedHeaders"),
			signature:     q.Get("X-Amz-Signature"),
			date:          q.Get("X-Amz-Date"),
			expires:       q.Get("X-Amz-Expires"),
			token:         q.Get("X-Amz-Security-Token"),
		}
		if p.algorithm == "" || p.credential == "" || p.signedHeaders == "" || p.signature == "" || p.date == "" {
			return nil, newError(http.StatusBadRequest, "AuthorizationQueryParametersError",
				"AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', "+
					"'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters.")
		}
		if p.expires == "" {
			p.expires = "604800"
		}
		return p, nil
	}
	return nil, newError(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
}

// guessService picks the service for a request whose credential scope does
// not name one we serve, so the error says which service was expected.
func guessService(r *http.Request, params url.Values) string {
	if strings.HasPrefix(strings.ToLower(r.Host), "iam.") || params.Get("Version") == iamVersion {
		return "iam"
	}
	return "sts"
}

// signature recomputes the request signature from the headers the client
// says it signed; SDKs differ in which headers those are.
func signature(secret string, r *http.Request, body []byte, p *sigParts, scope []string) string {
	var ch strings.Builder
	names := strings.Split(p.signedHeaders, ";")
	for _, h := range names {
		h = strings.ToLower(strings.TrimSpace(h))
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.Itoa(len(body))
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		ch.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	query := r.URL.Query()
	if p.presigned {
		query.Del("X-Amz-Signature")
	}
	sum := sha256.Sum256(body)
	creq := strings.Join([]string{
		r.Method,
		canonicalURI(r.URL),
		canonicalQuery(query),
		ch.String(),
		p.signedHeaders,
		hex.EncodeToString(sum[:]),
	}, "\n")
	creqSum := sha256.Sum256([]byte(creq))
	toSign := sigAlgorithm + "\n" + p.date + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(creqSum[:])
	k := hmacSHA256([]byte("AWS4"+secret), scope[1])
	for _, part := range scope[2:] {
		k = hmacSHA256(k, part)
	}
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalURI encodes each path segment of the already-escaped path once
// more, as SigV4 prescribes for every service but S3.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i] = uriEncode(seg)
	}
	return strings.Join(segs, "/")
}

func canonicalQuery(q url.Values) string {
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(q))
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, kv{uriEncode(k), uriEncode(v)})
		}
	}
	// Sorted by encoded name, then value; sorting the joined "k=v" strings
	// would misplace names that are prefixes of others.
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}

// uriEncode is RFC 3986 percent-encoding with SigV4's unreserved set; it
// differs from url.QueryEscape in encoding space as %20 and keeping '~'.
func uriEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), s) {
			return true
		}
	}
	return false
}
