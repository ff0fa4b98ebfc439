// IAM Identity Center (SSO): the state behind the OIDC service
// (sso_oidc.go), the sign-in pages a browser visits (sso_consent.go) and
// the portal (sso_portal.go), and the test API that sets it up.

package ststest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// KindSSO marks role credentials the portal's GetRoleCredentials issued.
// They behave as an assumed-role session of the permission set's
// AWSReservedSSO_… role.
const KindSSO Kind = "GetRoleCredentials"

// The OAuth grant types, by the names the OIDC service uses on the wire.
const (
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantRefreshToken      = "refresh_token"
	GrantAuthorizationCode = "authorization_code"
)

// SSOLifetimes are the lifetimes the emulated Identity Center gives what it
// issues. A zero field keeps the default (shown in parentheses).
type SSOLifetimes struct {
	AccessToken time.Duration // the OIDC access token, expiresIn (1h)
	// RefreshToken is the sign-in session: refresh tokens stop working
	// this long after the sign-in, rotation or not (8h, Identity Center's
	// default session duration).
	RefreshToken    time.Duration
	DeviceCode      time.Duration // a device authorization, expiresIn (10m)
	AuthCode        time.Duration // an authorization code, and a pending consent (5m)
	RoleCredentials time.Duration // GetRoleCredentials' credentials (1h)
	ClientSecret    time.Duration // a client registration (90 days)
	// Interval is the device flow's polling interval, whole seconds (1s,
	// as AWS answers); a poll sooner than that after the previous one for
	// the same device code gets slow_down.
	Interval time.Duration
}

func defaultSSOLifetimes() SSOLifetimes {
	return SSOLifetimes{
		AccessToken:     time.Hour,
		RefreshToken:    8 * time.Hour,
		DeviceCode:      10 * time.Minute,
		AuthCode:        5 * time.Minute,
		RoleCredentials: time.Hour,
		ClientSecret:    90 * 24 * time.Hour,
		Interval:        time.Second,
	}
}

// SSOCounts counts requests to the emulated Identity Center since the last
// ResetCounters. Every counter except TokenByGrant and TokenFailures counts
// requests that reached the operation, successful or not (an injected fault
// counts too).
type SSOCounts struct {
	RegisterClient      int
	DeviceAuthorization int // StartDeviceAuthorization
	Authorize           int // visits of GET /authorize
	DeviceVerification  int // visits of the device verification page
	Consent             int // consent decisions (form posts and automatic ones)
	// TokenByGrant counts successful CreateToken calls by grant
	// ("device_code", "refresh_token", "authorization_code");
	// TokenFailures counts the refused ones the same way, and TokenErrors
	// counts the refusals by error code ("AuthorizationPendingException", …).
	TokenByGrant       map[string]int
	TokenFailures      map[string]int
	TokenErrors        map[string]int
	GetRoleCredentials int
	ListAccounts       int
	ListAccountRoles   int
	Logout             int
}

func newSSOCounts() SSOCounts {
	return SSOCounts{TokenByGrant: map[string]int{}, TokenFailures: map[string]int{}, TokenErrors: map[string]int{}}
}

func (c SSOCounts) clone() SSOCounts {
	out := c
	out.TokenByGrant, out.TokenFailures, out.TokenErrors = map[string]int{}, map[string]int{}, map[string]int{}
	for k, v := range c.TokenByGrant {
		out.TokenByGrant[k] = v
	}
	for k, v := range c.TokenFailures {
		out.TokenFailures[k] = v
	}
	for k, v := range c.TokenErrors {
		out.TokenErrors[k] = v
	}
	return out
}

// shortGrant is the key TokenByGrant uses.
func shortGrant(g string) string {
	if g == GrantDeviceCode {
		return "device_code"
	}
	return g
}

type ssoInstance struct {
	startURL, region string
	user             string // who signs in at the consent step
	assignments      []*ssoAssignment
}

type ssoAssignment struct {
	user, accountID, accountName, roleName string
	roleArn, iamRoleName                   string
}

type ssoClient struct {
	id, secret, name string
	scopes           []string
	grantTypes       []string
	redirectURIs     []string
	issuerURL        string
	issued, expires  time.Time
}

func (c *ssoClient) allows(grant string) bool {
	if len(c.grantTypes) == 0 {
		// A client registered without grant types gets the device flow
		// and, with scopes, refresh tokens.
		return grant == GrantDeviceCode || grant == GrantRefreshToken
	}
	for _, g := range c.grantTypes {
		if g == grant {
			return true
		}
	}
	return false
}

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
	deviceUsed
)

type ssoDevice struct {
	deviceCode, userCode string
	clientID             string
	inst                 *ssoInstance
	expires              time.Time
	state                deviceState
	lastPoll             time.Time // wall clock (monotonic), for interval
	user                 string
}

// ssoAuthRequest is a visit of /authorize waiting for the person's choice.
type ssoAuthRequest struct {
	id                 string
	client             *ssoClient
	inst               *ssoInstance
	redirectURI, state string
	challenge          string
	scopes             []string
	expires            time.Time
}

type ssoAuthCode struct {
	code, clientID, redirectURI, challenge string
	inst                                   *ssoInstance
	user                                   string
	scopes                                 []string
	expires                                time.Time
	used                                   bool
}

// ssoGrant is one sign-in: the refresh tokens and access tokens issued
// from it share it, so a logout ends all of them.
type ssoGrant struct {
	inst     *ssoInstance
	user     string
	clientID string
	scopes   []string
	revoked  bool
	ends     time.Time // when its refresh tokens stop working
}

type ssoAccessToken struct {
	grant   *ssoGrant
	expires time.Time
}

type ssoRefreshToken struct {
	grant   *ssoGrant
	expires time.Time
	retired bool // replaced by rotation
}

type ssoState struct {
	instances     map[string]*ssoInstance // by start URL
	instanceOrder []string
	clients       map[string]*ssoClient
	devices       map[string]*ssoDevice // by device code
	userCodes     map[string]*ssoDevice
	authRequests  map[string]*ssoAuthRequest
	authCodes     map[string]*ssoAuthCode
	access        map[string]*ssoAccessToken
	refresh       map[string]*ssoRefreshToken
	life          SSOLifetimes
	consent       string
	noRotation    bool
	pageSize      int
	counts        SSOCounts
}

func newSSOState() *ssoState {
	return &ssoState{
		instances:    map[string]*ssoInstance{},
		clients:      map[string]*ssoClient{},
		devices:      map[string]*ssoDevice{},
		userCodes:    map[string]*ssoDevice{},
		authRequests: map[string]*ssoAuthRequest{},
		authCodes:    map[string]*ssoAuthCode{},
		access:       map[string]*ssoAccessToken{},
		refresh:      map[string]*ssoRefreshToken{},
		life:         defaultSSOLifetimes(),
		consent:      "approve",
		pageSize:     20,
		counts:       newSSOCounts(),
	}
}

// ssoLocked returns the SSO state, creating it on first use; s.mu held.
func (s *Server) ssoLocked() *ssoState {
	if s.sso == nil {
		s.sso = newSSOState()
	}
	return s.sso
}

// AddSSOInstance creates an Identity Center instance reached through
// startURL (https://d-xxxxxxxxxx.awsapps.com/start, say) in region. Adding
// one that exists changes nothing. The person who signs in is "alice"
// until SetSSOUser says otherwise.
func (s *Server) AddSSOInstance(startURL, region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.ssoLocked()
	if st.instances[startURL] != nil {
		return
	}
	st.instances[startURL] = &ssoInstance{startURL: startURL, region: region, user: "alice"}
	st.instanceOrder = append(st.instanceOrder, startURL)
}

// SetSSOUser sets who signs in to the instance at the consent step (and
// whose assignments the portal lists). It panics if the instance does not
// exist, as a test setup mistake.
func (s *Server) SetSSOUser(startURL, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.ssoLocked().instances[startURL]
	if inst == nil {
		panic("ststest: no SSO instance " + startURL)
	}
	inst.user = user
}

// AddSSOAssignment gives user "alice" of the instance the permission set
// roleName in accountID (shown as accountName) and returns the ARN of the
// IAM role Identity Center keeps for it in that account,
// arn:aws:iam::ACCOUNT:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ROLENAME_<hex>.
// The role exists in the emulated IAM, so trust policies and inline
// policies (PutRolePolicy) can name it. It panics on a setup mistake.
func (s *Server) AddSSOAssignment(startURL, accountID, accountName, roleName string) string {
	arn, err := s.AddSSOUserAssignment(startURL, "alice", accountID, accountName, roleName)
	if err != nil {
		panic(err)
	}
	return arn
}

// AddSSOUserAssignment is AddSSOAssignment for another user.
func (s *Server) AddSSOUserAssignment(startURL, user, accountID, accountName, roleName string) (string, error) {
	if !accountRE.MatchString(accountID) {
		return "", fmt.Errorf("ststest: account %q: want 12 digits", accountID)
	}
	if roleName == "" || len(roleName) > 32 || !iamNameRE.MatchString(roleName) {
		return "", fmt.Errorf("ststest: permission set name %q: want 1 to 32 of [A-Za-z0-9+=,.@_-]", roleName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.ssoLocked().instances[startURL]
	if inst == nil {
		return "", fmt.Errorf("ststest: no SSO instance %s (call AddSSOInstance first)", startURL)
	}
	for _, a := range inst.assignments {
		if a.user == user && a.accountID == accountID && a.roleName == roleName {
			return a.roleArn, nil
		}
	}
	// The suffix is stable for a start URL, account and permission set, so
	// fixtures and trust policies can name the role.
	sum := sha256.Sum256([]byte(startURL + "\x00" + accountID + "\x00" + roleName))
	iamName := "AWSReservedSSO_" + roleName + "_" + hex.EncodeToString(sum[:8])
	arn := "arn:aws:iam::" + accountID + ":role/aws-reserved/sso.amazonaws.com/" + iamName
	if s.roles[arn] == nil {
		s.roles[arn] = &role{arn: arn, account: accountID, name: iamName, id: newRoleID(), created: s.now(),
			opts: RoleOptions{MaxSessionDuration: 12 * time.Hour}}
	}
	inst.assignments = append(inst.assignments, &ssoAssignment{user: user, accountID: accountID,
		accountName: accountName, roleName: roleName, roleArn: arn, iamRoleName: iamName})
	return arn, nil
}

// SetSSOLifetimes replaces the lifetimes; zero fields get the defaults.
// They apply to what is issued from now on.
func (s *Server) SetSSOLifetimes(l SSOLifetimes) {
	d := defaultSSOLifetimes()
	for _, p := range []struct{ set, def *time.Duration }{
		{&l.AccessToken, &d.AccessToken}, {&l.RefreshToken, &d.RefreshToken}, {&l.DeviceCode, &d.DeviceCode},
		{&l.AuthCode, &d.AuthCode}, {&l.RoleCredentials, &d.RoleCredentials}, {&l.ClientSecret, &d.ClientSecret},
		{&l.Interval, &d.Interval},
	} {
		if *p.set <= 0 {
			*p.set = *p.def
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ssoLocked().life = l
}

// SSOLifetimesNow returns the lifetimes in force.
func (s *Server) SSOLifetimesNow() SSOLifetimes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ssoLocked().life
}

// SetSSOAccessTokenLifetime, SetSSORefreshTokenLifetime,
// SetSSODeviceCodeLifetime, SetSSOAuthCodeLifetime and
// SetSSORoleCredentialsLifetime change one lifetime (d <= 0: the default).
func (s *Server) SetSSOAccessTokenLifetime(d time.Duration) {
	s.setSSOLife(func(l *SSOLifetimes) { l.AccessToken = d })
}

// SetSSORefreshTokenLifetime: see SetSSOAccessTokenLifetime.
func (s *Server) SetSSORefreshTokenLifetime(d time.Duration) {
	s.setSSOLife(func(l *SSOLifetimes) { l.RefreshToken = d })
}

// SetSSODeviceCodeLifetime: see SetSSOAccessTokenLifetime.
func (s *Server) SetSSODeviceCodeLifetime(d time.Duration) {
	s.setSSOLife(func(l *SSOLifetimes) { l.DeviceCode = d })
}

// SetSSOAuthCodeLifetime: see SetSSOAccessTokenLifetime.
func (s *Server) SetSSOAuthCodeLifetime(d time.Duration) {
	s.setSSOLife(func(l *SSOLifetimes) { l.AuthCode = d })
}

// SetSSORoleCredentialsLifetime: see SetSSOAccessTokenLifetime.
func (s *Server) SetSSORoleCredentialsLifetime(d time.Duration) {
	s.setSSOLife(func(l *SSOLifetimes) { l.RoleCredentials = d })
}

func (s *Server) setSSOLife(f func(*SSOLifetimes)) {
	l := s.SSOLifetimesNow()
	f(&l)
	s.SetSSOLifetimes(l)
}

// SetSSOConsent sets what the consent step decides when the visitor does
// not choose itself, i.e. for a visit that does not ask for an HTML page
// (no text/html in Accept: curl, http.Get, the fake browser's "visit"):
// "approve" (the default) signs in at once, "deny" refuses, "ignore" leaves
// the sign-in pending until it expires. A browser (Accept: text/html) is
// always shown the consent form and its choice wins.
func (s *Server) SetSSOConsent(action string) {
	switch action {
	case "approve", "deny", "ignore":
	default:
		panic("ststest: SetSSOConsent: want approve, deny or ignore, got " + action)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ssoLocked().consent = action
}

// SetSSORefreshRotation sets whether a refresh returns a new refresh token
// and retires the old one (true, the default, as Identity Center does) or
// returns the same one again.
func (s *Server) SetSSORefreshRotation(rotate bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ssoLocked().noRotation = !rotate
}

// SetSSOPageSize sets the most items ListAccounts and ListAccountRoles
// return per page (default 20; a smaller max_result wins).
func (s *Server) SetSSOPageSize(n int) {
	if n < 1 {
		n = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ssoLocked().pageSize = n
}

// SSOCounts returns the Identity Center counters; see the type.
func (s *Server) SSOCounts() SSOCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ssoLocked().counts.clone()
}

// ExpireSSOAccessTokens makes every access token issued so far expired, as
// if its lifetime had passed; refresh tokens keep working.
func (s *Server) ExpireSSOAccessTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.ssoLocked()
	now := s.now()
	n := 0
	for _, t := range st.access {
		if now.Before(t.expires) {
			t.expires = now
			n++
		}
	}
	return n
}

// RevokeSSOSessions ends every sign-in so far, as an administrator
// revoking the user's sessions: their access and refresh tokens are
// refused from now on (role credentials already issued keep working). It
// returns how many sign-ins it ended.
func (s *Server) RevokeSSOSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[*ssoGrant]bool{}
	st := s.ssoLocked()
	for _, t := range st.access {
		seen[t.grant] = true
	}
	for _, t := range st.refresh {
		seen[t.grant] = true
	}
	n := 0
	for g := range seen {
		if !g.revoked {
			g.revoked = true
			n++
		}
	}
	return n
}

// SSOTokenInfo describes an access token the emulator issued.
type SSOTokenInfo struct {
	StartURL, User, ClientID string
	Scopes                   []string
	Expires                  time.Time
	Revoked                  bool
}

// SSOAccessToken reports what the emulator knows about an access token.
func (s *Server) SSOAccessToken(token string) (SSOTokenInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.ssoLocked().access[token]
	if t == nil {
		return SSOTokenInfo{}, false
	}
	return SSOTokenInfo{StartURL: t.grant.inst.startURL, User: t.grant.user, ClientID: t.grant.clientID,
		Scopes: append([]string(nil), t.grant.scopes...), Expires: t.expires, Revoked: t.grant.revoked}, true
}

func randomURLToken(n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(fmt.Sprintf("ststest: crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// The shapes follow what Identity Center hands out: opaque base64url
// strings, the tokens with their "aoa"/"aor" prefixes, user codes of two
// groups of four letters.
func newSSOClientID() string { return randomURLToken(16) }
func newSSOClientSecret() string {
	return "eyJraWQiOiJrZXktMTU2NDAyODA5OSIsImFsZyI6IkhTMzg0In0." + randomURLToken(96)
}
func newSSODeviceCode() string   { return randomURLToken(96) }
func newSSOAccessToken() string  { return "aoa" + randomURLToken(120) }
func newSSORefreshToken() string { return "aor" + randomURLToken(120) }
func newSSOAuthCode() string     { return randomURLToken(48) }

func newSSOUserCode() string {
	const letters = "BCDFGHJKLMNPQRSTVWXZ"
	c := randomString(letters, 8)
	return c[:4] + "-" + c[4:]
}

// normalizeUserCode accepts a code typed in lower case or without the dash.
func normalizeUserCode(c string) string {
	c = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(c), "-", ""))
	if len(c) != 8 {
		return c
	}
	return c[:4] + "-" + c[4:]
}
