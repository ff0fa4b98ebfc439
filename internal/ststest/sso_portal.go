// The SSO portal (portal.sso.REGION.amazonaws.com): GetRoleCredentials,
// ListAccounts, ListAccountRoles and Logout, REST-JSON, authenticated by
// the OIDC access token in x-amz-sso_bearer_token.

package ststest

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func portalErr(status int, code, msg string) *ssoError {
	return &ssoError{Status: status, Code: code, Desc: msg}
}

var errSSOUnauthorized = portalErr(http.StatusUnauthorized, "UnauthorizedException", "Session token not found or invalid")

// ssoBearer resolves the request's access token; s.mu held.
func (s *Server) ssoBearer(r *http.Request) (*ssoAccessToken, *ssoError) {
	tok := r.Header.Get("x-amz-sso_bearer_token")
	t := s.ssoLocked().access[tok]
	if tok == "" || t == nil || t.grant.revoked || !s.now().Before(t.expires) {
		return nil, errSSOUnauthorized
	}
	return t, nil
}

func (st *ssoState) assignmentsOf(g *ssoGrant) []*ssoAssignment {
	var out []*ssoAssignment
	for _, a := range g.inst.assignments {
		if a.user == g.user {
			out = append(out, a)
		}
	}
	return out
}

func (s *Server) ssoGetRoleCredentials(r *http.Request, _ []byte) (any, *ssoError) {
	t, e := s.ssoBearer(r)
	if e != nil {
		return nil, e
	}
	q := r.URL.Query()
	roleName, account := q.Get("role_name"), q.Get("account_id")
	if roleName == "" || account == "" {
		return nil, portalErr(http.StatusBadRequest, "InvalidRequestException", "role_name and account_id are required")
	}
	if !accountRE.MatchString(account) {
		return nil, portalErr(http.StatusBadRequest, "InvalidRequestException", "Invalid account_id")
	}
	st := s.ssoLocked()
	var a *ssoAssignment
	for _, x := range st.assignmentsOf(t.grant) {
		if x.accountID == account && x.roleName == roleName {
			a = x
			break
		}
	}
	if a == nil {
		// What Identity Center answers for a role the person is not
		// assigned; the SDK has no type for it (a generic API error).
		return nil, portalErr(http.StatusForbidden, "ForbiddenException", "No access")
	}
	r0 := s.roles[a.roleArn]
	roleID := ""
	if r0 != nil {
		roleID = r0.id
	}
	ss := s.issue(&Session{
		Kind:            KindSSO,
		Account:         a.accountID,
		Arn:             "arn:aws:sts::" + a.accountID + ":assumed-role/" + a.iamRoleName + "/" + t.grant.user,
		UserID:          roleID + ":" + t.grant.user,
		CallerArn:       t.grant.inst.startURL,
		RoleArn:         a.roleArn,
		RoleSessionName: t.grant.user,
	}, st.life.RoleCredentials)
	return map[string]any{"roleCredentials": map[string]any{
		"accessKeyId":     ss.AccessKeyID,
		"secretAccessKey": ss.SecretAccessKey,
		"sessionToken":    ss.SessionToken,
		"expiration":      ss.Expiration.UnixMilli(),
	}}, nil
}

// page cuts n items into one page: max_result (1..1000; the page size set
// by SetSSOPageSize when larger or absent) from the offset next_token
// names. The token is bound to the list (kind) so one list's token is
// refused by the other.
func (s *Server) page(r *http.Request, kind string, n int) (from, to int, next string, e *ssoError) {
	q := r.URL.Query()
	size := s.ssoLocked().pageSize
	if v := q.Get("max_result"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 1 || m > 1000 {
			return 0, 0, "", portalErr(http.StatusBadRequest, "InvalidRequestException", "Invalid max_result")
		}
		size = min(size, m)
	}
	if v := q.Get("next_token"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		rest, ok := strings.CutPrefix(string(raw), kind+":")
		off, err2 := strconv.Atoi(rest)
		if err != nil || !ok || err2 != nil || off < 0 || off > n {
			return 0, 0, "", portalErr(http.StatusBadRequest, "InvalidRequestException", "Invalid next_token")
		}
		from = off
	}
	to = min(n, from+size)
	if to < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.Itoa(to)))
	}
	return from, to, next, nil
}

func (s *Server) ssoListAccounts(r *http.Request, _ []byte) (any, *ssoError) {
	t, e := s.ssoBearer(r)
	if e != nil {
		return nil, e
	}
	st := s.ssoLocked()
	var accounts []map[string]any
	seen := map[string]bool{}
	for _, a := range st.assignmentsOf(t.grant) {
		if seen[a.accountID] {
			continue
		}
		seen[a.accountID] = true
		accounts = append(accounts, map[string]any{"accountId": a.accountID, "accountName": a.accountName,
			"emailAddress": "aws+" + a.accountID + "@example.com"})
	}
	from, to, next, e := s.page(r, "accounts", len(accounts))
	if e != nil {
		return nil, e
	}
	out := map[string]any{"accountList": append([]map[string]any{}, accounts[from:to]...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Server) ssoListAccountRoles(r *http.Request, _ []byte) (any, *ssoError) {
	t, e := s.ssoBearer(r)
	if e != nil {
		return nil, e
	}
	account := r.URL.Query().Get("account_id")
	if account == "" {
		return nil, portalErr(http.StatusBadRequest, "InvalidRequestException", "account_id is required")
	}
	st := s.ssoLocked()
	var roles []map[string]any
	for _, a := range st.assignmentsOf(t.grant) {
		if a.accountID == account {
			roles = append(roles, map[string]any{"roleName": a.roleName, "accountId": a.accountID})
		}
	}
	if len(roles) == 0 {
		return nil, portalErr(http.StatusNotFound, "ResourceNotFoundException", "No roles found for account "+account)
	}
	from, to, next, e := s.page(r, "roles/"+account, len(roles))
	if e != nil {
		return nil, e
	}
	out := map[string]any{"roleList": append([]map[string]any{}, roles[from:to]...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// ssoLogout ends the sign-in behind the token: its access tokens and
// refresh tokens stop working. Role credentials already issued keep
// working until they expire, as on AWS.
func (s *Server) ssoLogout(r *http.Request, _ []byte) (any, *ssoError) {
	t, e := s.ssoBearer(r)
	if e != nil {
		return nil, e
	}
	t.grant.revoked = true
	t.expires = time.Time{}
	return map[string]any{}, nil
}
