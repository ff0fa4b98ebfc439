// The STS calls of the steps: GetSessionToken, AssumeRole and GetFederationToken
// with their inputs, MFA code and session names.

package credentials

import (
	"context"
	"fmt"
	"os/user"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/rolevault/rolevault/plan"
)

// getSessionToken runs a GetSessionToken step, with an MFA code when the
// step names a device.
func (p *Provider) getSessionToken(ctx context.Context, pl *plan.Plan, step plan.Step, src aws.Credentials, srcKey string) (aws.Credentials, error) {
	in := &sts.GetSessionTokenInput{}
	if step.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(step.Duration / time.Second))
	}
	var out *sts.GetSessionTokenOutput
	err := p.withMFA(ctx, step, func(m mfaCall) (err error) {
		in.SerialNumber, in.TokenCode = m.Serial, m.Code
		out, err = p.stsClient(pl, &src).GetSessionToken(ctx, in, m.Options...)
		return err
	})
	if err != nil {
		return aws.Credentials{}, p.explainSTSError(ctx, pl, step, src, srcKey, err)
	}
	p.debugf("GetSessionToken for %s: got %s, expires %s", step.Profile, mask(*out.Credentials.AccessKeyId), out.Credentials.Expiration.Format(time.RFC3339))
	return fromSTS(out.Credentials, "GetSessionToken")
}

// assumeRole runs an AssumeRole step with the step's session name, external
// ID, source identity, tags and MFA code.
func (p *Provider) assumeRole(ctx context.Context, pl *plan.Plan, step plan.Step, src aws.Credentials, srcKey string) (aws.Credentials, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(step.RoleARN),
		RoleSessionName: aws.String(step.RoleSessionName),
	}
	if step.RoleSessionName == "" {
		in.RoleSessionName = aws.String(DefaultRoleSessionName(p.now()))
	}
	if step.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(step.Duration / time.Second))
	}
	if step.ExternalID != "" {
		in.ExternalId = aws.String(step.ExternalID)
	}
	if step.SourceIdentity != "" {
		in.SourceIdentity = aws.String(step.SourceIdentity)
	}
	for k, v := range step.SessionTags {
		in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	in.TransitiveTagKeys = append(in.TransitiveTagKeys, step.TransitiveSessionTags...)

	var out *sts.AssumeRoleOutput
	err := p.withMFA(ctx, step, func(m mfaCall) (err error) {
		in.SerialNumber, in.TokenCode = m.Serial, m.Code
		out, err = p.stsClient(pl, &src).AssumeRole(ctx, in, m.Options...)
		return err
	})
	if err != nil {
		return aws.Credentials{}, p.explainSTSError(ctx, pl, step, src, srcKey, err)
	}
	p.debugf("AssumeRole %s for %s: got %s as %s, expires %s", step.RoleARN, step.Profile, mask(*out.Credentials.AccessKeyId), aws.ToString(out.AssumedRoleUser.Arn), out.Credentials.Expiration.Format(time.RFC3339))
	return fromSTS(out.Credentials, "AssumeRole")
}

// getFederationToken runs a GetFederationToken step (console sign-in from a
// long-term key), named after the IAM user unless the step names it.
func (p *Provider) getFederationToken(ctx context.Context, pl *plan.Plan, step plan.Step, src aws.Credentials, srcKey string) (aws.Credentials, error) {
	client := p.stsClient(pl, &src)
	name := step.RoleSessionName
	if name == "" {
		id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return aws.Credentials{}, p.explainSTSError(ctx, pl, step, src, srcKey, err)
		}
		name = FederationName(aws.ToString(id.Arn))
	}
	in := &sts.GetFederationTokenInput{
		Name: aws.String(name),
		// Without a policy the federated user can do nothing; the console
		// session is then limited by the IAM user's own policies.
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`),
	}
	if step.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(step.Duration / time.Second))
	}
	out, err := client.GetFederationToken(ctx, in)
	if err != nil {
		return aws.Credentials{}, p.explainSTSError(ctx, pl, step, src, srcKey, err)
	}
	return fromSTS(out.Credentials, "GetFederationToken")
}

// FederationName derives GetFederationToken's Name from the caller's ARN: the
// IAM user name, cut to the 32 characters STS allows.
func FederationName(arn string) string {
	name := arn
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' || arn[i] == ':' {
			name = arn[i+1:]
			break
		}
	}
	name = invalidSessionChars().ReplaceAllString(name, "-")
	if len(name) > 32 {
		name = name[:32]
	}
	if len(name) < 2 {
		name = "rolevault"
	}
	return name
}

var invalidSessionChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^\w+=,.@-]`) })

// DefaultRoleSessionName names role sessions when role_session_name is not
// set: the local user name, so CloudTrail shows who assumed the role, and a
// timestamp when that name cannot be used.
func DefaultRoleSessionName(now time.Time) string {
	if u, err := user.Current(); err == nil {
		name := invalidSessionChars().ReplaceAllString(u.Username, "-")
		if len(name) > 64 {
			name = name[:64]
		}
		if len(name) >= 2 {
			return name
		}
	}
	return "rolevault-" + strconv.FormatInt(now.Unix(), 10)
}

// fromSTS converts STS credentials, refusing a reply without keys.
func fromSTS(c *ststypes.Credentials, source string) (aws.Credentials, error) {
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil {
		return aws.Credentials{}, fmt.Errorf("%s returned no credentials", source)
	}
	out := aws.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          source,
	}
	if c.Expiration != nil {
		out.CanExpire, out.Expires = true, *c.Expiration
	}
	return out, nil
}
