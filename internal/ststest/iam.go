package ststest

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var iamActions = map[string]operation{
	"GetUser":         {handle: (*Server).getUser},
	"CreateAccessKey": {handle: (*Server).createAccessKey},
	"DeleteAccessKey": {handle: (*Server).deleteAccessKey},
	"ListAccessKeys":  {handle: (*Server).listAccessKeys},
	"ListMFADevices":  {handle: (*Server).listMFADevices},

	"GetAccessKeyLastUsed":    {handle: (*Server).getAccessKeyLastUsed},
	"SimulatePrincipalPolicy": {handle: (*Server).simulatePrincipalPolicy},
}

// targetUser resolves the user an IAM call is about. IAM is per account:
// UserName names a user in the caller's own account. The permission model
// is deliberately small: users manage themselves, role sessions manage any
// user of their account; once the world has identity policies (policy.go),
// the caller's policies decide instead, on the target user's ARN.
func (s *Server) targetUser(c *caller, p url.Values, action string) (*user, *apiError) {
	var v validation
	name, named := str(&v, p, "UserName", "userName", false, 1, 128, &constraint{text: `[\w+=,.@-]+`, re: iamNameRE})
	if e := v.err(); e != nil {
		return nil, e
	}
	if !named && c.user == nil {
		return nil, errValidation("Must specify userName when calling with non-User credentials")
	}
	if s.identityConfigured {
		if !named {
			name = c.user.name
		}
		if !s.identityAllows(c, "iam:"+action, "arn:aws:iam::"+c.account()+":user/"+name, false) {
			return nil, errNoIdentityPolicy(c, action, "user "+name)
		}
	} else if !named {
		return c.user, nil
	}
	if !s.identityConfigured && c.user != nil && name != c.user.name {
		return nil, errAccessDenied("User: %s is not authorized to perform: iam:%s on resource: user %s because no identity-based policy allows the iam:%s action",
			c.arn(), action, name, action)
	}
	u := s.users[userKey(c.account(), name)]
	if u == nil {
		return nil, newError(http.StatusNotFound, "NoSuchEntity", "The user with name %s cannot be found.", name)
	}
	return u, nil
}

func (s *Server) getUser(c *caller, p url.Values) ([]node, *apiError) {
	u, e := s.targetUser(c, p, "GetUser")
	if e != nil {
		return nil, e
	}
	return []node{el("User",
		leaf("Path", "/"),
		leaf("UserName", u.name),
		leaf("UserId", u.id),
		leaf("Arn", u.arn()),
		leafTime("CreateDate", u.created),
	)}, nil
}

func (s *Server) createAccessKey(c *caller, p url.Values) ([]node, *apiError) {
	u, e := s.targetUser(c, p, "CreateAccessKey")
	if e != nil {
		return nil, e
	}
	if len(u.keys) >= maxKeysPerUser {
		return nil, newError(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: %d", maxKeysPerUser)
	}
	now := s.now().UTC().Truncate(time.Second)
	k := &AccessKey{
		AccessKeyID: newLongTermKeyID(), SecretAccessKey: newSecret(),
		UserName: u.name, Account: u.account, Status: "Active",
		Created: now, Usable: now.Add(s.propagation),
	}
	u.keys = append(u.keys, k)
	s.keys[k.AccessKeyID] = k
	return []node{el("AccessKey",
		leaf("UserName", u.name),
		leaf("AccessKeyId", k.AccessKeyID),
		leaf("Status", k.Status),
		leaf("SecretAccessKey", k.SecretAccessKey),
		leafTime("CreateDate", k.Created),
	)}, nil
}

func (s *Server) deleteAccessKey(c *caller, p url.Values) ([]node, *apiError) {
	var v validation
	id, _ := str(&v, p, "AccessKeyId", "accessKeyId", true, 16, 128, &patAccessKeyID)
	if e := v.err(); e != nil {
		return nil, e
	}
	u, e := s.targetUser(c, p, "DeleteAccessKey")
	if e != nil {
		return nil, e
	}
	k := s.keys[id]
	if k == nil || k.Account != u.account || k.UserName != u.name {
		return nil, newError(http.StatusNotFound, "NoSuchEntity", "The Access Key with id %s cannot be found.", id)
	}
	s.deleteKeyLocked(id)
	return nil, nil
}

func (s *Server) listAccessKeys(c *caller, p url.Values) ([]node, *apiError) {
	u, e := s.targetUser(c, p, "ListAccessKeys")
	if e != nil {
		return nil, e
	}
	members := make([]node, 0, len(u.keys))
	for _, k := range u.keys {
		members = append(members, el("member",
			leaf("UserName", u.name),
			leaf("AccessKeyId", k.AccessKeyID),
			leaf("Status", k.Status),
			leafTime("CreateDate", k.Created),
		))
	}
	return []node{
		leaf("UserName", u.name),
		listNode("AccessKeyMetadata", members),
		leaf("IsTruncated", "false"),
	}, nil
}

func (s *Server) listMFADevices(c *caller, p url.Values) ([]node, *apiError) {
	u, e := s.targetUser(c, p, "ListMFADevices")
	if e != nil {
		return nil, e
	}
	members := make([]node, 0, len(u.mfa))
	for _, d := range u.mfa {
		members = append(members, el("member",
			leaf("UserName", u.name),
			leaf("SerialNumber", d.serial),
			leafTime("EnableDate", d.enabled),
		))
	}
	return []node{listNode("MFADevices", members), leaf("IsTruncated", "false")}, nil
}

// listNode writes an empty list as an empty element, as AWS does, rather
// than leaving it out.
func listNode(name string, members []node) node {
	if len(members) == 0 {
		return leaf(name, "")
	}
	return el(name, members...)
}

func errNoIdentityPolicy(c *caller, action, resource string) *apiError {
	return errAccessDenied("User: %s is not authorized to perform: iam:%s on resource: %s because no identity-based policy allows the iam:%s action",
		c.arn(), action, resource, action)
}

// getAccessKeyLastUsed reports when a key last signed a request. A key that
// never did has ServiceName and Region "N/A" and no LastUsedDate, as in IAM.
func (s *Server) getAccessKeyLastUsed(c *caller, p url.Values) ([]node, *apiError) {
	var v validation
	id, _ := str(&v, p, "AccessKeyId", "accessKeyId", true, 16, 128, nil)
	if e := v.err(); e != nil {
		return nil, e
	}
	k := s.keys[id]
	if k == nil || k.Account != c.account() {
		return nil, errAccessDenied("User: %s is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key %s", c.arn(), id)
	}
	owner := "arn:aws:iam::" + k.Account + ":user/" + k.UserName
	switch {
	case s.identityConfigured:
		if !s.identityAllows(c, "iam:GetAccessKeyLastUsed", owner, false) {
			return nil, errNoIdentityPolicy(c, "GetAccessKeyLastUsed", "user "+k.UserName)
		}
	case c.user != nil && c.user.name != k.UserName:
		return nil, errNoIdentityPolicy(c, "GetAccessKeyLastUsed", "user "+k.UserName)
	}
	used := []node{leaf("ServiceName", "N/A"), leaf("Region", "N/A")}
	if !k.LastUsed.IsZero() {
		used = []node{leafTime("LastUsedDate", k.LastUsed), leaf("ServiceName", k.LastUsedService), leaf("Region", k.LastUsedRegion)}
	}
	return []node{leaf("UserName", k.UserName), el("AccessKeyLastUsed", used...)}, nil
}

// simulatePrincipalPolicy evaluates the identity policies of a user (with
// its groups'), group or role, never a trust policy: which is what tells
// the two sides of an AccessDenied apart. ContextEntries supply the
// request context (aws:MultiFactorAuthPresent, …); keys a matching
// statement's conditions need but the context lacks are listed in
// MissingContextValues.
func (s *Server) simulatePrincipalPolicy(c *caller, p url.Values) ([]node, *apiError) {
	var v validation
	src, _ := str(&v, p, "PolicySourceArn", "policySourceArn", true, 20, 2048, nil)
	actions := list(p, "ActionNames")
	if len(actions) == 0 {
		v.add(nil, "actionNames", "Member must not be null")
	}
	resources := list(p, "ResourceArns")
	if e := v.err(); e != nil {
		return nil, e
	}
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	ctx := map[string]string{}
	for i := 1; ; i++ {
		pre := "ContextEntries.member." + strconv.Itoa(i) + "."
		key := p.Get(pre + "ContextKeyName")
		if key == "" {
			break
		}
		ctx[strings.ToLower(key)] = p.Get(pre + "ContextKeyValues.member.1")
	}
	if !s.identityAllows(c, "iam:SimulatePrincipalPolicy", src, false) {
		return nil, errNoIdentityPolicy(c, "SimulatePrincipalPolicy", src)
	}
	var policies []namedPolicy
	username := ""
	switch m := userArnRE.FindStringSubmatch(src); {
	case m != nil:
		u := s.users[userKey(m[1], m[2])]
		if u == nil {
			return nil, errInvalidParameter("Invalid Entity Arn: %s does not clearly define entity type and name.", src)
		}
		policies, username = s.userAndGroupPolicies(u), u.name
	case groupArnRE.MatchString(src):
		g := groupArnRE.FindStringSubmatch(src)
		policies = s.groupPolicies[userKey(g[1], g[2])]
	default:
		if _, _, ok := parseRoleArn(src); !ok {
			return nil, errInvalidParameter("Invalid Entity Arn: %s does not clearly define entity type and name.", src)
		}
		if s.roles[src] == nil {
			return nil, newError(http.StatusNotFound, "NoSuchEntity", "The role with name %s cannot be found.", src[strings.LastIndex(src, "/")+1:])
		}
		policies = s.rolePolicies[src]
	}
	if _, ok := ctx["aws:username"]; !ok && username != "" {
		ctx["aws:username"] = username
	}
	var results []node
	for _, a := range actions {
		for _, res := range resources {
			d, matches, missing := decide(policies, evalRequest{action: a, resource: res, username: username, context: ctx})
			stmts := make([]node, 0, len(matches))
			for _, m := range matches {
				stmts = append(stmts, el("member", leaf("SourcePolicyId", m.policyID), leaf("SourcePolicyType", m.policyType)))
			}
			miss := make([]node, 0, len(missing))
			for _, k := range missing {
				miss = append(miss, leaf("member", k))
			}
			results = append(results, el("member",
				leaf("EvalActionName", a),
				leaf("EvalResourceName", res),
				leaf("EvalDecision", d),
				listNode("MatchedStatements", stmts),
				listNode("MissingContextValues", miss),
			))
		}
	}
	return []node{listNode("EvaluationResults", results), leaf("IsTruncated", "false")}, nil
}

var (
	userArnRE  = regexp.MustCompile(`^arn:aws:iam::(\d{12}):user/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$`)
	groupArnRE = regexp.MustCompile(`^arn:aws:iam::(\d{12}):group/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,128})$`)
)
