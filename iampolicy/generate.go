package iampolicy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits AWS puts on role sessions.
const (
	DefaultMaxSessionDuration = time.Hour
	MaxMaxSessionDuration     = 12 * time.Hour
	RoleChainingLimit         = time.Hour
)

// Result is what a set of chains needs from IAM.
type Result struct {
	Roles      []Role     // sorted by ARN
	Identities []Identity // sorted by account, then principal
	Notes      []string
}

// Role is a role the chains assume.
type Role struct {
	ARN, Account, Name string
	Trust              Document
	// MaxSessionDuration is the role setting the requested durations need
	// (at least AWS's default of one hour).
	MaxSessionDuration time.Duration
}

// Identity is the identity policy of the principals that make calls.
type Identity struct {
	Account string
	// Kind is "group" for the IAM users of Account (attach the policy to
	// their group) or "role" for a role that assumes another.
	Kind string
	// ARN is the role for Kind "role"; Users lists the IAM users for
	// Kind "group".
	ARN    string
	Users  []string
	Policy Document
}

// Compiled on first use: at package initialisation these two cost every
// rolevault run, `export` included, about 0.2 ms (docs/performance.md).
var (
	userArnRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:(aws[a-z-]*):iam::(\d{12}):user/(?:.*/)?([\w+=,.@-]+)$`)
	})
	roleArnRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$`)
	})
)

type principal struct {
	partition, account, name string
	role                     bool
	arn                      string
}

func parsePrincipal(arn string) (principal, error) {
	if m := userArnRE().FindStringSubmatch(arn); m != nil {
		return principal{partition: m[1], account: m[2], name: m[3], arn: arn}, nil
	}
	if m := roleArnRE().FindStringSubmatch(arn); m != nil {
		return principal{partition: m[1], account: m[2], name: m[3], role: true, arn: arn}, nil
	}
	return principal{}, fmt.Errorf("%q is not an IAM user or role ARN", arn)
}

// stmtKey groups statements that differ only in their resources (identity)
// or principals (trust).
type stmtKey struct {
	sid     string
	actions string
	cond    string
}

type builder struct {
	order []stmtKey
	stmts map[stmtKey]*Statement
}

func (b *builder) add(sid string, actions []string, cond map[string]map[string]List, resources, principals []string) {
	k := stmtKey{sid: sid, actions: strings.Join(actions, ","), cond: condString(cond)}
	if b.stmts == nil {
		b.stmts = map[stmtKey]*Statement{}
	}
	s := b.stmts[k]
	if s == nil {
		s = &Statement{Sid: sid, Effect: "Allow", Action: sortedSet(actions), Condition: cond}
		b.stmts[k] = s
		b.order = append(b.order, k)
	}
	if len(resources) > 0 {
		s.Resource = sortedSet(s.Resource, resources)
	}
	if len(principals) > 0 {
		if s.Principal == nil {
			s.Principal = &Principal{}
		}
		s.Principal.AWS = sortedSet(s.Principal.AWS, principals)
	}
}

func (b *builder) document() Document {
	d := Document{Version: Version}
	keys := slices.Clone(b.order)
	slices.SortFunc(keys, func(x, y stmtKey) int {
		if c := strings.Compare(x.sid, y.sid); c != 0 {
			return c
		}
		if c := strings.Compare(x.actions, y.actions); c != 0 {
			return c
		}
		return strings.Compare(x.cond, y.cond)
	})
	seen := map[string]int{}
	for _, k := range keys {
		s := *b.stmts[k]
		// Statements that share a purpose but differ in their conditions
		// (two external IDs) get numbered Sids: Sids are unique per policy.
		if seen[k.sid]++; seen[k.sid] > 1 {
			s.Sid = k.sid + strconv.Itoa(seen[k.sid])
		}
		d.Statement = append(d.Statement, s)
	}
	return d
}

func condString(c map[string]map[string]List) string {
	var parts []string
	for op, kv := range c {
		for k, v := range kv {
			parts = append(parts, op+"|"+k+"|"+strings.Join(v, ","))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}

func mfaCondition(m MFA, opts Options) map[string]map[string]List {
	if !m.Present() {
		return nil
	}
	c := map[string]map[string]List{"Bool": {"aws:MultiFactorAuthPresent": {"true"}}}
	if opts.MFAMaxAge > 0 {
		c["NumericLessThan"] = map[string]List{"aws:MultiFactorAuthAge": {strconv.FormatInt(int64(opts.MFAMaxAge/time.Second), 10)}}
	}
	return c
}

// Generate works out the policies the chains need. It is pure.
func Generate(chains []Chain, opts Options) (*Result, error) {
	type roleAcc struct {
		Role
		trust builder
	}
	roles := map[string]*roleAcc{}
	type idAcc struct {
		Identity
		b builder
	}
	ids := map[string]*idAcc{}
	notes := map[string]bool{}
	identity := func(p principal) *idAcc {
		key := "group:" + p.account
		if p.role {
			key = "role:" + p.arn
		}
		a := ids[key]
		if a == nil {
			a = &idAcc{Identity: Identity{Account: p.account, Kind: "group"}}
			if p.role {
				a.Kind, a.ARN = "role", p.arn
			}
			ids[key] = a
		}
		if !p.role {
			a.Users = sortedSet(a.Users, []string{p.arn})
		}
		return a
	}

	for _, ch := range chains {
		for i, c := range ch.Calls {
			caller, err := parsePrincipal(c.Caller)
			if err != nil {
				return nil, fmt.Errorf("profile %s, call %d (%s): caller %w", ch.Name, i+1, c.Kind, err)
			}
			switch c.Kind {
			case GetSessionToken:
				notes["GetSessionToken needs no permission: IAM does not check one for it (an explicit Deny in a user's policy still blocks it)."] = true
				if caller.role {
					return nil, fmt.Errorf("profile %s: GetSessionToken called by role %s; only IAM users can", ch.Name, c.Caller)
				}
			case GetFederationToken:
				if caller.role {
					return nil, fmt.Errorf("profile %s: GetFederationToken called by role %s; only IAM users can", ch.Name, c.Caller)
				}
				identity(caller).b.add("GetFederationToken", []string{"sts:GetFederationToken"}, nil,
					[]string{"arn:" + caller.partition + ":sts::" + caller.account + ":federated-user/*"}, nil)
			case AssumeRole:
				target, err := parsePrincipal(c.RoleARN)
				if err != nil || !target.role {
					return nil, fmt.Errorf("profile %s: %q is not a role ARN", ch.Name, c.RoleARN)
				}
				r := roles[c.RoleARN]
				if r == nil {
					r = &roleAcc{Role: Role{ARN: c.RoleARN, Account: target.account, Name: target.name, MaxSessionDuration: DefaultMaxSessionDuration}}
					roles[c.RoleARN] = r
				}
				actions := []string{"sts:AssumeRole"}
				sid := "AssumeRole"
				if len(c.SessionTags) > 0 {
					actions = append(actions, "sts:TagSession")
					sid += "TagSession"
				}
				if c.SourceIdentity != "" {
					actions = append(actions, "sts:SetSourceIdentity")
					sid += "SetSourceIdentity"
				}
				cond := mfaCondition(c.MFA, opts)
				mfaSid := ""
				if cond != nil {
					mfaSid = "WithMFA"
				}
				identity(caller).b.add(sid+mfaSid, actions, cond, []string{c.RoleARN}, nil)

				trustCond := mfaCondition(c.MFA, opts)
				trustSid := "Allow" + sid + mfaSid
				if c.ExternalID != "" {
					if trustCond == nil {
						trustCond = map[string]map[string]List{}
					}
					trustCond["StringEquals"] = map[string]List{"sts:ExternalId": {c.ExternalID}}
					trustSid += "ExternalID"
				}
				who := "arn:" + caller.partition + ":iam::" + caller.account + ":root"
				if opts.Principal == PrincipalExact {
					who = caller.arn
				}
				r.trust.add(trustSid, actions, trustCond, nil, []string{who})

				if caller.role && c.Duration > RoleChainingLimit {
					return nil, fmt.Errorf("profile %s: %s asks for %s through role chaining (assumed with role %s's credentials); AWS allows at most 1h there",
						ch.Name, c.RoleARN, c.Duration, c.Caller)
				}
				if c.Duration > MaxMaxSessionDuration {
					return nil, fmt.Errorf("profile %s: %s asks for %s; a role's MaxSessionDuration is at most 12h", ch.Name, c.RoleARN, c.Duration)
				}
				if c.Duration > r.MaxSessionDuration {
					r.MaxSessionDuration = c.Duration
				}
			default:
				return nil, fmt.Errorf("profile %s: unknown call %q", ch.Name, c.Kind)
			}
		}
		if ch.User == "" || (ch.Rotate == RotateNone && !ch.Login) {
			continue
		}
		u, err := parsePrincipal(ch.User)
		if err != nil || u.role {
			return nil, fmt.Errorf("profile %s: %q is not an IAM user ARN", ch.Name, ch.User)
		}
		if ch.Login {
			identity(u).b.add("GetFederationToken", []string{"sts:GetFederationToken"}, nil,
				[]string{"arn:" + u.partition + ":sts::" + u.account + ":federated-user/*"}, nil)
		}
		if ch.Rotate != RotateNone {
			self := "arn:" + u.partition + ":iam::" + u.account + ":user/${aws:username}"
			if opts.ExactUsers {
				self = u.arn
			}
			var cond map[string]map[string]List
			sid := "RotateOwnAccessKey"
			if ch.Rotate == RotateWithMFA {
				cond, sid = mfaCondition(MFACarried, opts), sid+"WithMFA"
			}
			identity(u).b.add(sid, []string{"iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed", "iam:ListAccessKeys"},
				cond, []string{self}, nil)
		}
	}

	res := &Result{}
	for _, r := range roles {
		r.Trust = r.trust.document()
		res.Roles = append(res.Roles, r.Role)
	}
	slices.SortFunc(res.Roles, func(a, b Role) int { return strings.Compare(a.ARN, b.ARN) })
	for _, a := range ids {
		a.Policy = a.b.document()
		if len(a.Policy.Statement) == 0 {
			continue
		}
		res.Identities = append(res.Identities, a.Identity)
	}
	slices.SortFunc(res.Identities, func(a, b Identity) int {
		if c := strings.Compare(a.Account, b.Account); c != 0 {
			return c
		}
		return strings.Compare(a.Kind+a.ARN, b.Kind+b.ARN)
	})
	for n := range notes {
		res.Notes = append(res.Notes, n)
	}
	slices.Sort(res.Notes)
	return res, nil
}
