package ststest

import (
	"net/http"
	"net/url"
	"time"
)

var iamActions = map[string]operation{
	"GetUser":         {handle: (*Server).getUser},
	"CreateAccessKey": {handle: (*Server).createAccessKey},
	"DeleteAccessKey": {handle: (*Server).deleteAccessKey},
	"ListAccessKeys":  {handle: (*Server).listAccessKeys},
	"ListMFADevices":  {handle: (*Server).listMFADevices},
}

// targetUser resolves the user an IAM call is about. IAM is per account:
// UserName names a user in the caller's own account. The permission model
// is deliberately small: users manage themselves, role sessions manage any
// user of their account.
func (s *Server) targetUser(c *caller, p url.Values, action string) (*user, *apiError) {
	var v validation
	name, named := str(&v, p, "UserName", "userName", false, 1, 128, &constraint{text: `[\w+=,.@-]+`, re: iamNameRE})
	if e := v.err(); e != nil {
		return nil, e
	}
	if !named {
		if c.user == nil {
			return nil, errValidation("Must specify userName when calling with non-User credentials")
		}
		return c.user, nil
	}
	if c.user != nil && name != c.user.name {
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
