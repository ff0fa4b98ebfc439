package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rolevault/rolevault/plan"
)

// keySource produces the credentials a plan starts from.
func (p *Provider) keySource(ctx context.Context, pl *plan.Plan, step plan.Step) (aws.Credentials, error) {
	switch step.Kind {
	case plan.StepStoredKeys:
		if p.Keys == nil {
			return aws.Credentials{}, fmt.Errorf("profile %q: no keyring to read stored keys from", step.Profile)
		}
		c, err := p.Keys.Get(step.Profile)
		if err != nil {
			return aws.Credentials{}, err
		}
		p.debugf("using stored keys %s of profile %s", mask(c.AccessKeyID), step.Profile)
		return c, nil
	case plan.StepCredentialsFile:
		prof := pl.ProfileNamed(step.Profile)
		if prof == nil || prof.FileKeys == nil {
			return aws.Credentials{}, fmt.Errorf("profile %q: no keys in the credentials file", step.Profile)
		}
		k := prof.FileKeys
		return aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, SessionToken: k.SessionToken, Source: "credentials file"}, nil
	case plan.StepEnvironment:
		id, _ := p.lookupEnv("AWS_ACCESS_KEY_ID")
		secret, _ := p.lookupEnv("AWS_SECRET_ACCESS_KEY")
		token, _ := p.lookupEnv("AWS_SESSION_TOKEN")
		if id == "" || secret == "" {
			return aws.Credentials{}, &ProviderError{Err: fmt.Errorf("profile %q: credential_source = Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set", step.Profile),
				HintLine: "export both variables before running rolevault, or give the profile another source"}
		}
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Source: "environment"}, nil
	case plan.StepCredentialProcess:
		return p.credentialProcess(ctx, step)
	case plan.StepWebIdentity:
		return p.webIdentity(ctx, pl, step)
	case plan.StepSSO:
		return p.ssoRoleCredentials(ctx, pl, step)
	}
	return aws.Credentials{}, fmt.Errorf("profile %q: %q is not a key source", step.Profile, step.Kind)
}

// shellCommand runs a config command line the way the AWS CLI does: through
// the shell, so quoting in the config means what it means in a terminal.
func shellCommand(ctx context.Context, line string) *exec.Cmd {
	if runtime.GOOS == "windows" {
		return exec.CommandContext(ctx, "cmd.exe", "/C", line)
	}
	return exec.CommandContext(ctx, "/bin/sh", "-c", line)
}

// processOutput is credential_process's Version 1 document.
type processOutput struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      *time.Time
}

func (p *Provider) credentialProcess(ctx context.Context, step plan.Step) (aws.Credentials, error) {
	cmd := shellCommand(ctx, step.CredentialProcess)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The helper may prompt (an SSO login, a hardware key): give it the terminal.
	cmd.Stdin = os.Stdin
	if err := cmd.Run(); err != nil {
		detail := strings.TrimSpace(stderr.String())
		if detail == "" {
			detail = err.Error()
		} else {
			detail = oneLine(detail) + " (" + err.Error() + ")"
		}
		return aws.Credentials{}, &ProviderError{Err: fmt.Errorf("profile %q: credential_process failed: %s", step.Profile, detail),
			HintLine: "run the command yourself to see what it needs: " + step.CredentialProcess}
	}
	var out processOutput
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&out); err != nil {
		return aws.Credentials{}, &ProviderError{Err: fmt.Errorf("profile %q: credential_process did not print a JSON document: %v", step.Profile, err),
			HintLine: `it must print {"Version": 1, "AccessKeyId": …, "SecretAccessKey": …} on stdout`}
	}
	switch {
	case out.Version != 1:
		return aws.Credentials{}, &ProviderError{Err: fmt.Errorf("profile %q: credential_process printed Version %d; only Version 1 is defined", step.Profile, out.Version),
			HintLine: `add "Version": 1 to its output`}
	case out.AccessKeyID == "" || out.SecretAccessKey == "":
		return aws.Credentials{}, &ProviderError{Err: fmt.Errorf("profile %q: credential_process output lacks AccessKeyId or SecretAccessKey", step.Profile),
			HintLine: "fix the command so it prints both"}
	}
	c := aws.Credentials{AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey, SessionToken: out.SessionToken, Source: "credential_process"}
	if out.Expiration != nil {
		c.CanExpire, c.Expires = true, *out.Expiration
	}
	return c, nil
}

func (p *Provider) webIdentity(ctx context.Context, pl *plan.Plan, step plan.Step) (aws.Credentials, error) {
	var token []byte
	var err error
	switch {
	case step.WebIdentityTokenFile != "":
		token, err = os.ReadFile(step.WebIdentityTokenFile)
		if err != nil {
			return aws.Credentials{}, &ProviderError{Err: fmt.Errorf("profile %q: reading web_identity_token_file: %w", step.Profile, err),
				HintLine: "check the path in web_identity_token_file"}
		}
	case step.WebIdentityTokenProcess != "":
		cmd := shellCommand(ctx, step.WebIdentityTokenProcess)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		token, err = cmd.Output()
		if err != nil {
			return aws.Credentials{}, &ProviderError{Err: fmt.Errorf("profile %q: web_identity_token_process failed: %s (%v)", step.Profile, oneLine(stderr.String()), err),
				HintLine: "run the command yourself: " + step.WebIdentityTokenProcess}
		}
	default:
		return aws.Credentials{}, fmt.Errorf("profile %q: no web identity token source", step.Profile)
	}
	name := step.RoleSessionName
	if name == "" {
		name = DefaultRoleSessionName(p.now())
	}
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(step.RoleARN),
		RoleSessionName:  aws.String(name),
		WebIdentityToken: aws.String(strings.TrimSpace(string(token))),
	}
	if step.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(step.Duration / time.Second))
	}
	out, err := p.stsClient(pl, nil).AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return aws.Credentials{}, p.explainSTSError(ctx, pl, step, aws.Credentials{}, "", err)
	}
	return fromSTS(out.Credentials, "AssumeRoleWithWebIdentity")
}

// oneLine folds a command's stderr into one line for an error message.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
