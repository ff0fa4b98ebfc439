package iampolicy

import "time"

// The seeds' layout: users in a login (security) account, and two roles,
// admin and dev, in each of four target accounts that trust it with MFA.
const (
	loginAccount = "026445672617"
	aliceArn     = "arn:aws:iam::" + loginAccount + ":user/alice"
	bobArn       = "arn:aws:iam::" + loginAccount + ":user/bob"
)

var targetAccounts = map[string]string{
	"dev":   "211047650761",
	"stage": "320385056066",
	"prod":  "725335846599",
	"mgmt":  "989175535319",
}

var roleNames = []string{"admin", "dev"}

func roleArn(env, name string) string {
	return "arn:aws:iam::" + targetAccounts[env] + ":role/" + name
}

// seedsChains is what rolevault's plan makes of the seeds' config: each
// user's profile (GetSessionToken with MFA; rotate and login), and per
// user and role a profile that assumes the role from the MFA session.
func seedsChains() []Chain {
	var chains []Chain
	for _, u := range []struct{ name, arn string }{{"alice", aliceArn}, {"bob", bobArn}} {
		chains = append(chains, Chain{
			Name: u.name, User: u.arn, Rotate: RotateWithMFA, Login: true,
			Calls: []Call{{Kind: GetSessionToken, Caller: u.arn, MFA: MFAInCall, Duration: time.Hour}},
		})
		for _, env := range []string{"dev", "stage", "prod", "mgmt"} {
			for _, r := range roleNames {
				chains = append(chains, Chain{
					Name: u.name + "-" + env + "-" + r, User: u.arn,
					Calls: []Call{
						{Kind: GetSessionToken, Caller: u.arn, MFA: MFAInCall, Duration: 8 * time.Hour},
						{Kind: AssumeRole, Caller: u.arn, RoleARN: roleArn(env, r), MFA: MFACarried, Duration: time.Hour},
					},
				})
			}
		}
	}
	return chains
}
