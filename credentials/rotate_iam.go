// The IAM side of a rotation: the IAM client, listing keys, waiting for a new
// key to be accepted, and undoing a half-done rotation.

package credentials

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rolevault/rolevault/console"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

// keyGone decides whether a DeleteAccessKey that reported failure deleted
// the key anyway: the reply may be what was lost, and the SDK's retry of a
// delete that worked fails. Signed with the deleted key itself, IAM no
// longer knows the signer; otherwise the key list says.
func (p *Provider) keyGone(ctx context.Context, pl *plan.Plan, client *iam.Client, fresh aws.Credentials, id string, usingMFA bool, err error) bool {
	if !usingMFA && apiCode(err) == "InvalidClientTokenId" {
		return true
	}
	ids, lerr := listKeyIDs(ctx, client)
	if lerr != nil {
		// The signer may be what is gone; ask with the new key instead.
		nc, cerr := p.iamClient(pl, fresh)
		if cerr != nil {
			return false
		}
		if ids, lerr = listKeyIDs(ctx, nc); lerr != nil {
			return false
		}
	}
	return !contains(ids, id)
}

// createFailed phrases a failed CreateAccessKey. Whether IAM made a key
// anyway is only knowable by listing again.
func (p *Provider) createFailed(ctx context.Context, client *iam.Client, res *RotateResult, before []string, listed, usingMFA bool, err error) error {
	msg := fmt.Sprintf("CreateAccessKey for %s failed (%s)", res.UserARN, iamErrorText(err))
	if listed {
		if after, lerr := listKeyIDs(ctx, client); lerr == nil {
			if orphans := minus(after, before); len(orphans) > 0 {
				return &RotateError{
					Msg: fmt.Sprintf("%s, but IAM created access key %s anyway and its secret never arrived; the keychain still holds %s, which is live in AWS",
						msg, strings.Join(orphans, ", "), res.OldKeyID),
					HintLine: "delete the unusable key (aws iam delete-access-key --access-key-id " + orphans[0] + ", or in the IAM console), then run rotate again",
					Err:      err,
				}
			}
		}
	}
	hint := "run rotate again; --debug shows the request"
	switch code := apiCode(err); {
	case code == "LimitExceeded":
		hint = "the user already has two access keys: delete the one you do not use (aws iam list-access-keys), then run rotate again"
	case code == "AccessDenied" && !usingMFA:
		hint = "the user's policy must allow iam:CreateAccessKey on itself; if it requires MFA, set mfa_serial on the profile (and do not pass --no-session)"
	case code == "AccessDenied":
		hint = "the user's policy must allow iam:CreateAccessKey, iam:DeleteAccessKey and iam:ListAccessKeys on itself"
	case code == "" && !listed:
		hint = "IAM may have created a key anyway: check with 'aws iam list-access-keys' and delete any key other than " + res.OldKeyID + " before running rotate again"
	}
	return &RotateError{
		Msg:      fmt.Sprintf("%s; nothing was changed: the keychain still holds %s, which is live in AWS", msg, res.OldKeyID),
		HintLine: hint, Err: err,
	}
}

// undoNewKey deletes a new key that will not be used, so the user is not left
// with an unknown second key (and the two-key limit on the next rotate).
func (p *Provider) undoNewKey(ctx context.Context, client *iam.Client, res *RotateResult, what string, cause error) error {
	_, err := client.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(res.NewKeyID)})
	if err == nil || apiCode(err) == "NoSuchEntity" {
		return &RotateError{
			Msg:      fmt.Sprintf("%s; deleted %s from AWS again, so only %s is active, and it is the one in the keychain", what, res.NewKeyID, res.OldKeyID),
			HintLine: "nothing changed; run rotate again (with --debug for details)",
			Err:      cause,
		}
	}
	return &RotateError{
		Msg: fmt.Sprintf("%s; deleting %s from AWS also failed (%s), so both %s (in the keychain) and %s are active in AWS",
			what, res.NewKeyID, iamErrorText(err), res.OldKeyID, res.NewKeyID),
		HintLine: "delete the unused key: aws iam delete-access-key --access-key-id " + res.NewKeyID + " (or in the IAM console)",
		Err:      cause,
	}
}

// waitForKey asks STS who the new key belongs to until AWS accepts it: IAM
// takes a few seconds to spread a new key, and until then every call with
// it fails with InvalidClientTokenId.
func (p *Provider) waitForKey(ctx context.Context, pl *plan.Plan, creds aws.Credentials, userARN string, opts RotateOptions, progress func(string, ...any)) error {
	timeout := opts.PropagationTimeout
	if timeout <= 0 {
		timeout = DefaultPropagationTimeout
	}
	wait := opts.PollInterval
	if wait <= 0 {
		wait = time.Second
	}
	const maxWait = 8 * time.Second
	deadline := time.Now().Add(timeout)
	client := p.stsClient(pl, &creds)
	for attempt := 1; ; attempt++ {
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			if got := aws.ToString(out.Arn); got != userARN {
				return fmt.Errorf("the new key belongs to %s, not %s", got, userARN)
			}
			return nil
		}
		if ctx.Err() != nil {
			return keychain.InterruptedWhile(ctx, "waiting for IAM to accept the new access key")
		}
		if apiCode(err) != "InvalidClientTokenId" {
			return fmt.Errorf("GetCallerIdentity with the new key: %s", iamErrorText(err))
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("still refused after %s (%s)", plan.FormatDuration(timeout.Round(time.Second)), iamErrorText(err))
		}
		if attempt == 1 {
			progress("Waiting for IAM to accept the new key (usually a few seconds, at most %s)", plan.FormatDuration(timeout.Round(time.Second)))
		}
		p.debugf("new key not accepted yet (attempt %d): %v", attempt, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return keychain.InterruptedWhile(ctx, "waiting for IAM to accept the new access key")
		case <-t.C:
		}
		wait = min(wait*2, maxWait)
	}
}

// iamClient returns an IAM client signed with creds. IAM is one global
// service per partition, signed in that partition's IAM region whatever
// region the profile uses; an endpoint override for all services (or
// AWS_ENDPOINT_URL_IAM) applies, one for STS alone does not.
func (p *Provider) iamClient(pl *plan.Plan, creds aws.Credentials) (*iam.Client, error) {
	part, err := console.PartitionForRegion(planRegion(pl))
	if err != nil {
		return nil, err
	}
	o := iam.Options{
		Region:      part.IAMRegion,
		HTTPClient:  p.client(pl),
		Credentials: awscreds.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
	}
	if ep := iamEndpoint(pl); ep != "" {
		o.BaseEndpoint = aws.String(ep)
	}
	return iam.New(o), nil
}

func iamEndpoint(pl *plan.Plan) string {
	if pl.Profile == nil {
		return ""
	}
	return strings.TrimRight(pl.Profile.IAMEndpointURL, "/")
}

func listKeyIDs(ctx context.Context, client *iam.Client) ([]string, error) {
	out, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.AccessKeyMetadata))
	for _, k := range out.AccessKeyMetadata {
		ids = append(ids, aws.ToString(k.AccessKeyId))
	}
	return ids, nil
}

// iamErrorText is an AWS error as "Code: message", or the network failure
// underneath the SDK's wrapping.
func iamErrorText(err error) string {
	if code := apiCode(err); code != "" {
		return code + ": " + apiMessage(err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return ne.Error()
	}
	return rootCause(err).Error()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func otherKey(ids []string, not string) string {
	for _, id := range ids {
		if id != not {
			return id
		}
	}
	return "KEY_ID"
}
