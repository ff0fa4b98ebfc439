package credentials

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/internal/ststest"
)

// TestSSOFailureNamesWhatFailed: a refusal gives the service's code and
// message; no answer at all names the host that could not be reached,
// never an empty code ("(: operation error …").
func TestSSOFailureNamesWhatFailed(t *testing.T) {
	prof := &config.Profile{}
	prof.SSOOIDCEndpointURL = "http://127.0.0.1:1"
	s := &config.SSOSettings{Region: "eu-west-1", StartURL: "https://x.awsapps.com/start"}
	c := NewSSOOIDCClient(prof, s, nil)
	_, err := c.RegisterClient(context.Background(), &ssooidc.RegisterClientInput{ClientName: aws.String("t"), ClientType: aws.String("public")},
		func(o *ssooidc.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		t.Fatal("a closed port answered")
	}
	if got := ssoFailure(err); !strings.HasPrefix(got, "cannot reach http://127.0.0.1:1: ") || strings.Contains(got, "operation error") {
		t.Errorf("network failure: %q", got)
	}

	srv := ststest.New()
	url := srv.Start()
	defer srv.Close()
	prof.SSOOIDCEndpointURL = url
	c = NewSSOOIDCClient(prof, s, nil)
	_, err = c.CreateToken(context.Background(), &ssooidc.CreateTokenInput{ClientId: aws.String("nope"), ClientSecret: aws.String("nope"),
		GrantType: aws.String("refresh_token"), RefreshToken: aws.String("x")})
	if got := ssoFailure(err); !strings.HasPrefix(got, "InvalidClientException: ") {
		t.Errorf("refusal: %q", got)
	}
}
