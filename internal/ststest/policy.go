package ststest

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Identity and trust policies, reduced to what credential chains meet:
// Allow and Deny statements with Action, Resource and (in trust policies)
// Principal, and the condition operators Bool, Numeric* and String*
// (each also ...IfExists) on the keys aws:MultiFactorAuthPresent,
// aws:MultiFactorAuthAge, sts:ExternalId, sts:SourceIdentity,
// aws:PrincipalArn and aws:username. Wildcards (* and ?) and the policy
// variable ${aws:username} work in Action and Resource as in IAM.
//
// A world with no identity policy at all (no PutUserPolicy, PutGroupPolicy
// or PutRolePolicy) allows every call as far as identity policies go, as
// the emulator always has; once one is configured, AssumeRole,
// GetFederationToken, iam:SimulatePrincipalPolicy and the access key
// actions need an Allow from the caller's identity policies, as in AWS.
// A cross-account AssumeRole needs both sides; the emulator asks for both
// within one account too (AWS lets a trust policy that names the exact
// principal suffice there).

type policyDoc struct {
	raw        string
	statements []policyStatement
}

type policyStatement struct {
	sid        string
	deny       bool
	actions    []string
	resources  []string // nil: no Resource element (trust policies)
	principals []string // nil: no Principal element (identity policies)
	conditions []policyCondition
}

type policyCondition struct {
	op       string // without IfExists
	ifExists bool
	key      string
	values   []string
}

type jsonList []string

func (l *jsonList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = jsonList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

var knownOps = []string{"Bool", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
	"NumericGreaterThan", "NumericGreaterThanEquals", "StringEquals", "StringNotEquals", "StringLike", "StringNotLike"}

// parsePolicy reads an IAM JSON policy document; anything outside the
// subset above is an error, so a test cannot rely on something the
// emulator ignores.
func parsePolicy(doc string) (*policyDoc, error) {
	var raw struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, fmt.Errorf("ststest: policy is not JSON: %w", err)
	}
	if raw.Version != "2012-10-17" {
		return nil, fmt.Errorf("ststest: policy Version %q: want 2012-10-17", raw.Version)
	}
	type stmt struct {
		Sid       string
		Effect    string
		Action    jsonList
		Resource  *jsonList
		Principal *struct{ AWS jsonList }
		Condition map[string]map[string]jsonList
	}
	var stmts []stmt
	if json.Unmarshal(raw.Statement, &stmts) != nil {
		var one stmt
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return nil, fmt.Errorf("ststest: policy Statement: %w", err)
		}
		stmts = []stmt{one}
	}
	p := &policyDoc{raw: doc}
	for i, s := range stmts {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, fmt.Errorf("ststest: statement %d: Effect %q", i+1, s.Effect)
		}
		if len(s.Action) == 0 {
			return nil, fmt.Errorf("ststest: statement %d has no Action", i+1)
		}
		ps := policyStatement{sid: s.Sid, deny: s.Effect == "Deny", actions: s.Action}
		if s.Resource != nil {
			ps.resources = *s.Resource
		}
		if s.Principal != nil {
			ps.principals = s.Principal.AWS
			if ps.principals == nil {
				ps.principals = []string{}
			}
		}
		for op, kv := range s.Condition {
			base, ifExists := strings.CutSuffix(op, "IfExists")
			if !slices.Contains(knownOps, base) {
				return nil, fmt.Errorf("ststest: statement %d: condition operator %q is not emulated", i+1, op)
			}
			for k, v := range kv {
				ps.conditions = append(ps.conditions, policyCondition{op: base, ifExists: ifExists, key: strings.ToLower(k), values: v})
			}
		}
		p.statements = append(p.statements, ps)
	}
	return p, nil
}

// evalRequest is the request context a policy is evaluated against.
type evalRequest struct {
	action    string
	resource  string
	principal *caller // for trust policies
	username  string  // for ${aws:username}
	context   map[string]string
}

// Decisions, as iam:SimulatePrincipalPolicy names them.
const (
	decisionAllowed      = "allowed"
	decisionImplicitDeny = "implicitDeny"
	decisionExplicitDeny = "explicitDeny"
)

// matched is a statement that decided, for SimulatePrincipalPolicy.
type matched struct {
	policyID, policyType string
}

type namedPolicy struct {
	name, kind string // kind: user, group or role
	doc        *policyDoc
}

// decide evaluates policies the way IAM does for one action: an explicit
// Deny wins, then any Allow, else the implicit deny.
func decide(policies []namedPolicy, r evalRequest) (string, []matched, []string) {
	var allows, denies []matched
	var missing []string
	for _, np := range policies {
		for _, s := range np.doc.statements {
			if !s.matches(r, &missing) {
				continue
			}
			m := matched{policyID: np.name, policyType: np.kind}
			if s.deny {
				denies = append(denies, m)
			} else {
				allows = append(allows, m)
			}
		}
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	switch {
	case len(denies) > 0:
		return decisionExplicitDeny, denies, missing
	case len(allows) > 0:
		return decisionAllowed, allows, missing
	}
	return decisionImplicitDeny, nil, missing
}

func (s policyStatement) matches(r evalRequest, missing *[]string) bool {
	if !slices.ContainsFunc(s.actions, func(a string) bool { return globMatch(strings.ToLower(a), strings.ToLower(r.action)) }) {
		return false
	}
	if s.resources != nil && !slices.ContainsFunc(s.resources, func(res string) bool {
		return globMatch(strings.ReplaceAll(res, "${aws:username}", r.username), r.resource)
	}) {
		return false
	}
	if s.principals != nil && (r.principal == nil || !slices.ContainsFunc(s.principals, func(p string) bool { return principalMatches(p, r.principal) })) {
		return false
	}
	for _, c := range s.conditions {
		v, present := r.context[c.key]
		if !present {
			*missing = append(*missing, c.key)
			if c.ifExists {
				continue
			}
			return false
		}
		if !c.holds(v) {
			return false
		}
	}
	return true
}

func (c policyCondition) holds(v string) bool {
	any := func(f func(want string) bool) bool { return slices.ContainsFunc(c.values, f) }
	num := func(cmp func(a, b float64) bool) bool {
		a, err := strconv.ParseFloat(v, 64)
		return err == nil && any(func(w string) bool {
			b, err := strconv.ParseFloat(w, 64)
			return err == nil && cmp(a, b)
		})
	}
	switch c.op {
	case "Bool":
		return any(func(w string) bool { return strings.EqualFold(w, v) })
	case "StringEquals":
		return any(func(w string) bool { return w == v })
	case "StringNotEquals":
		return !any(func(w string) bool { return w == v })
	case "StringLike":
		return any(func(w string) bool { return globMatch(w, v) })
	case "StringNotLike":
		return !any(func(w string) bool { return globMatch(w, v) })
	case "NumericEquals":
		return num(func(a, b float64) bool { return a == b })
	case "NumericNotEquals":
		return !num(func(a, b float64) bool { return a == b })
	case "NumericLessThan":
		return num(func(a, b float64) bool { return a < b })
	case "NumericLessThanEquals":
		return num(func(a, b float64) bool { return a <= b })
	case "NumericGreaterThan":
		return num(func(a, b float64) bool { return a > b })
	case "NumericGreaterThanEquals":
		return num(func(a, b float64) bool { return a >= b })
	}
	return false
}

// globMatch is IAM's wildcard match: * is any run of characters (slashes
// included), ? any one character.
func globMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	// path.Match treats / specially; IAM does not, so match segment-free.
	p := strings.NewReplacer("/", "\x00", "[", "\\[", "]", "\\]").Replace(pattern)
	ok, err := path.Match(p, strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

// principalMatches is a trust policy's Principal against the caller: "*",
// an account (root ARN or bare ID) meaning any principal of it, a user, a
// role (its sessions), or an assumed-role session ARN.
func principalMatches(p string, c *caller) bool {
	switch {
	case p == "*":
		return true
	case rootArnRE.MatchString(p):
		return rootArnRE.FindStringSubmatch(p)[1] == c.account()
	case accountRE.MatchString(p):
		return p == c.account()
	case c.isRoleSession():
		return p == c.session.RoleArn || p == c.session.Arn
	case c.user != nil:
		return p == c.user.arn()
	}
	return false
}

// requestContext is the request context of a call by c: the MFA keys
// follow docs/policy.md (absent for long-term keys, "false" for
// temporary credentials without MFA, carried along a chain). mfaNow is
// set when the call itself proves MFA.
func (s *Server) requestContext(c *caller, mfaNow bool) map[string]string {
	ctx := map[string]string{"aws:principalarn": c.arn()}
	if c.user != nil {
		ctx["aws:username"] = c.user.name
	}
	var at time.Time
	switch {
	case mfaNow:
		at = s.now()
	case c.session != nil && c.session.MFA:
		at = c.session.MFAAuthenticated
	case c.session != nil:
		ctx["aws:multifactorauthpresent"] = "false"
	}
	if !at.IsZero() {
		ctx["aws:multifactorauthpresent"] = "true"
		ctx["aws:multifactorauthage"] = strconv.FormatInt(int64(s.now().Sub(at)/time.Second), 10)
	}
	return ctx
}

// identityPolicies are the inline policies that apply to c: its user's and
// that user's groups', or its role's.
func (s *Server) identityPolicies(c *caller) []namedPolicy {
	switch {
	case c.isRoleSession():
		return s.rolePolicies[c.session.RoleArn]
	case c.user != nil:
		return s.userAndGroupPolicies(c.user)
	}
	return nil
}

func (s *Server) userAndGroupPolicies(u *user) []namedPolicy {
	out := slices.Clone(s.userPolicies[userKey(u.account, u.name)])
	for _, g := range u.groups {
		out = append(out, s.groupPolicies[userKey(u.account, g)]...)
	}
	return out
}

// identityAllows reports whether c's identity policies allow action on
// resource; true when the world has no identity policies (see above).
func (s *Server) identityAllows(c *caller, action, resource string, mfaNow bool) bool {
	if !s.identityConfigured {
		return true
	}
	r := evalRequest{action: action, resource: resource, context: s.requestContext(c, mfaNow)}
	r.username = r.context["aws:username"]
	d, _, _ := decide(s.identityPolicies(c), r)
	return d == decisionAllowed
}

// trustAllows evaluates a role's trust policy JSON for one action.
func (s *Server) trustAllows(ro *role, c *caller, action string, mfaNow bool, ctx map[string]string) bool {
	r := evalRequest{action: action, resource: ro.arn, principal: c, context: s.requestContext(c, mfaNow)}
	for k, v := range ctx {
		r.context[k] = v
	}
	d, _, _ := decide([]namedPolicy{{name: "trust", kind: "resource", doc: ro.trust}}, r)
	return d == decisionAllowed
}

// AssumeRolePolicy is an identity policy that allows sts:AssumeRole on
// exactly roleArns, with the aws:MultiFactorAuthPresent condition when
// requireMFA: the allow list credential chains need, for PutUserPolicy and
// PutGroupPolicy.
func AssumeRolePolicy(requireMFA bool, roleArns ...string) string {
	st := map[string]any{"Sid": "AssumeRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roleArns}
	if requireMFA {
		st["Condition"] = map[string]any{"Bool": map[string]string{"aws:MultiFactorAuthPresent": "true"}}
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{st}}) // plain data: cannot fail
	return string(b)
}

func (s *Server) putPolicy(m map[string][]namedPolicy, key, kind, name, doc string) error {
	p, err := parsePolicy(doc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := slices.DeleteFunc(m[key], func(np namedPolicy) bool { return np.name == name })
	m[key] = append(list, namedPolicy{name: name, kind: kind, doc: p})
	s.identityConfigured = true
	return nil
}

// PutUserPolicy attaches an inline identity policy (IAM JSON) to the user
// (created if needed), replacing one of the same name.
func (s *Server) PutUserPolicy(account, userName, policyName, doc string) error {
	s.mu.Lock()
	_, err := s.ensureUserLocked(account, userName)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.putPolicy(s.userPolicies, userKey(account, userName), "user", policyName, doc)
}

// PutGroupPolicy attaches an inline identity policy to a group of account.
func (s *Server) PutGroupPolicy(account, group, policyName, doc string) error {
	if !accountRE.MatchString(account) || !iamNameRE.MatchString(group) {
		return fmt.Errorf("ststest: group %s/%s: want a 12-digit account and an IAM name", account, group)
	}
	return s.putPolicy(s.groupPolicies, userKey(account, group), "group", policyName, doc)
}

// PutRolePolicy attaches an inline identity policy to a role, for the
// calls its sessions make (role chaining).
func (s *Server) PutRolePolicy(roleArn, policyName, doc string) error {
	if _, _, ok := parseRoleArn(roleArn); !ok {
		return fmt.Errorf("ststest: role ARN %q: want arn:aws:iam::ACCOUNT:role/NAME", roleArn)
	}
	return s.putPolicy(s.rolePolicies, roleArn, "role", policyName, doc)
}

// DeleteUserPolicy, DeleteGroupPolicy and DeleteRolePolicy remove an
// inline policy; they report whether it existed. The world stays one with
// identity policies configured.
func (s *Server) DeleteUserPolicy(account, userName, policyName string) bool {
	return s.deletePolicy(s.userPolicies, userKey(account, userName), policyName)
}

// DeleteGroupPolicy: see DeleteUserPolicy.
func (s *Server) DeleteGroupPolicy(account, group, policyName string) bool {
	return s.deletePolicy(s.groupPolicies, userKey(account, group), policyName)
}

// DeleteRolePolicy: see DeleteUserPolicy.
func (s *Server) DeleteRolePolicy(roleArn, policyName string) bool {
	return s.deletePolicy(s.rolePolicies, roleArn, policyName)
}

func (s *Server) deletePolicy(m map[string][]namedPolicy, key, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(m[key])
	m[key] = slices.DeleteFunc(m[key], func(np namedPolicy) bool { return np.name == name })
	return len(m[key]) != n
}

// AddUserToGroup makes the user (created if needed) a member of group, so
// the group's policies apply to it.
func (s *Server) AddUserToGroup(account, group, userName string) error {
	if !iamNameRE.MatchString(group) {
		return fmt.Errorf("ststest: group name %q is not a valid IAM name", group)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.ensureUserLocked(account, userName)
	if err != nil {
		return err
	}
	if !slices.Contains(u.groups, group) {
		u.groups = append(u.groups, group)
	}
	return nil
}
