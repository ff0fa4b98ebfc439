// The commands about a sign-in rather than a profile: the accounts and roles
// it can use (ListAccounts, ListAccountRoles) and signing out (Logout).

package credentials

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

// SSOAssignments lists every account and role the signed-in person may use
// through s, signing in (or refreshing) first when needed. A token the portal
// refuses is renewed once, as for role credentials.
func (p *Provider) SSOAssignments(ctx context.Context, prof *config.Profile, s *config.SSOSettings) ([]config.SSOAssignment, error) {
	client := NewSSOPortalClient(prof, s, p.client(nil))
	var out []config.SSOAssignment
	err, tokErr := p.withSSOToken(ctx, prof, s, func(token string) error {
		var err error
		out, err = listAssignments(ctx, client, token)
		return err
	})
	if tokErr != nil {
		return nil, tokErr
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, keychain.InterruptedWhile(ctx, "listing the IAM Identity Center accounts")
		}
		return nil, &ProviderError{Err: fmt.Errorf("listing the accounts and roles of %s failed (%s)", s.StartURL, ssoFailure(err)),
			HintLine: "check your network and the sso_region of the sign-in, then try again", Cause: err}
	}
	return out, nil
}

// withSSOToken calls the portal with a valid access token of s, signing in
// or refreshing first when needed. A token the portal refuses (signed out,
// revoked) is never handed out again: the sign-in is renewed once and the
// call made again. callErr is the call's own error, for the caller to
// phrase; tokenErr one from getting a token, already phrased.
func (p *Provider) withSSOToken(ctx context.Context, prof *config.Profile, s *config.SSOSettings, call func(token string) error) (callErr, tokenErr error) {
	rejected := ""
	for attempt := 0; ; attempt++ {
		tok, err := p.SSOAccessToken(ctx, prof, s, rejected)
		if err != nil {
			return nil, err
		}
		err = call(tok.AccessToken)
		if err != nil && attempt == 0 && isUnauthorized(err) {
			p.debugf("IAM Identity Center refused the access token for %s (%s); renewing the sign-in", s.StartURL, apiCode(err))
			rejected = tok.AccessToken
			continue
		}
		return err, nil
	}
}

func listAssignments(ctx context.Context, client *sso.Client, token string) ([]config.SSOAssignment, error) {
	var out []config.SSOAssignment
	accounts := sso.NewListAccountsPaginator(client, &sso.ListAccountsInput{AccessToken: aws.String(token)})
	for accounts.HasMorePages() {
		page, err := accounts.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.AccountList {
			id, name := aws.ToString(a.AccountId), aws.ToString(a.AccountName)
			roles := sso.NewListAccountRolesPaginator(client, &sso.ListAccountRolesInput{AccessToken: aws.String(token), AccountId: aws.String(id)})
			for roles.HasMorePages() {
				rp, err := roles.NextPage(ctx)
				if err != nil {
					if apiCode(err) == "ResourceNotFoundException" {
						break // an account without roles for this person
					}
					return nil, err
				}
				for _, r := range rp.RoleList {
					out = append(out, config.SSOAssignment{AccountID: id, AccountName: name, RoleName: aws.ToString(r.RoleName)})
				}
			}
		}
	}
	return out, nil
}

// SSOLogoutResult says what a sign-out did.
type SSOLogoutResult struct {
	Revoked   int      // access tokens IAM Identity Center ended
	Forgotten []string // where tokens were removed from, for the message
	// RevokeErr is set when a token could not be revoked at AWS (no
	// network, say): it was forgotten here all the same, and stays valid
	// at AWS until ValidUntil.
	RevokeErr  error
	ValidUntil time.Time
}

// SSOLogout signs out of s: every access token rolevault can find for it
// (its own keyring item, aws-vault v7's item, the AWS CLI's cache file) is
// revoked at IAM Identity Center with Logout, which also ends the refresh
// tokens of that sign-in, and then removed. Tokens are removed even when the
// revocation fails, so nothing here can sign in without the person again.
// Role credentials already handed out stay valid until they expire, as AWS
// documents for Logout; the caller forgets the cached ones.
func (p *Provider) SSOLogout(ctx context.Context, prof *config.Profile, s *config.SSOSettings) (SSOLogoutResult, error) {
	var res SSOLogoutResult
	key := plan.SSOTokenKey(s.TokenName(), s.StartURL, s.Region)
	now := p.now()
	type found struct {
		tok    *keychain.SSOToken
		where  string
		forget func() error
	}
	var all []found
	if p.SSOTokens != nil {
		own, err := p.SSOTokens.Get(key)
		if err != nil {
			return res, err
		}
		if own != nil {
			all = append(all, found{own, "the keyring", func() error { return p.SSOTokens.Remove(key) }})
		} else if err := p.SSOTokens.Remove(key); err != nil { // a stale index entry
			return res, err
		}
		av, err := p.SSOTokens.AWSVaultToken(s.StartURL)
		if err != nil {
			return res, err
		}
		if av != nil {
			all = append(all, found{av, "aws-vault's keyring item oidc:" + s.StartURL, func() error { return p.SSOTokens.RemoveAWSVaultToken(s.StartURL) }})
		}
	}
	if cli, path := p.cliCachedToken(s); cli != nil {
		all = append(all, found{cli, "the AWS CLI's cache " + path, func() error {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		}})
	}
	client := NewSSOPortalClient(prof, s, p.client(nil))
	revoked := map[string]bool{}
	for _, f := range all {
		if t := f.tok.AccessToken; t != "" && !revoked[t] && f.tok.ExpiresAt.After(now) {
			revoked[t] = true
			_, err := client.Logout(ctx, &sso.LogoutInput{AccessToken: aws.String(t)})
			switch {
			case err == nil:
				res.Revoked++
			case isUnauthorized(err):
				// Already ended at AWS (expired, revoked, signed out elsewhere).
			case ctx.Err() != nil:
				return res, keychain.InterruptedWhile(ctx, "signing out of "+s.StartURL)
			default:
				if res.RevokeErr == nil {
					res.RevokeErr = errors.New(ssoFailure(err))
				}
				if f.tok.ExpiresAt.After(res.ValidUntil) {
					res.ValidUntil = f.tok.ExpiresAt
				}
			}
		}
		if err := f.forget(); err != nil {
			return res, fmt.Errorf("forgetting the IAM Identity Center token in %s: %w", f.where, err)
		}
		res.Forgotten = append(res.Forgotten, f.where)
	}
	return res, nil
}

// ForgetSSOSignIn removes rolevault's own token item for s and, when the
// sign-in shares its token with the AWS CLI, the CLI's cache file it wrote
// (else rolevault would read the same token straight back). Nothing is
// revoked at AWS: that is SSOLogout. It reports whether anything was there.
func (p *Provider) ForgetSSOSignIn(s *config.SSOSettings) (bool, error) {
	key := plan.SSOTokenKey(s.TokenName(), s.StartURL, s.Region)
	had := false
	if p.SSOTokens != nil {
		items, err := p.SSOTokens.List()
		if err != nil {
			return false, err
		}
		for _, it := range items {
			if it.Key == key {
				had = true
			}
		}
		if err := p.SSOTokens.Remove(key); err != nil {
			return had, err
		}
	}
	if s.ShareCache {
		if _, path := p.cliCachedToken(s); path != "" {
			err := os.Remove(path)
			if err == nil {
				had = true
			} else if !errors.Is(err, os.ErrNotExist) {
				return had, fmt.Errorf("removing the AWS CLI's cached token %s: %w", path, err)
			}
		}
	}
	return had, nil
}

// ssoFailure phrases a failed IAM Identity Center call for a message: the
// service's error code and message, or, when no answer came, which host
// could not be reached and why.
func ssoFailure(err error) string {
	if code := apiCode(err); code != "" {
		return code + ": " + oneLine(apiMessage(err))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		host := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			host = u.Scheme + "://" + u.Host
		}
		return fmt.Sprintf("cannot reach %s: %v", host, rootCause(err))
	}
	return oneLine(err.Error())
}
