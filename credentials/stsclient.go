package credentials

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/plan"
)

// DefaultRegion is used for STS when nothing sets a region, as the AWS CLI
// does for its global STS endpoint.
const DefaultRegion = "us-east-1"

// NewHTTPClient builds the HTTP client for AWS calls. It is the SDK's
// buildable client, not a plain *http.Client, because real users set
// AWS_CA_BUNDLE and the SDK can only add a CA bundle to a buildable client.
func NewHTTPClient(lookupEnv func(string) (string, bool)) (aws.HTTPClient, error) {
	return NewProfileHTTPClient(lookupEnv, nil)
}

// NewProfileHTTPClient is NewHTTPClient for calls made for a profile: the
// CA bundle is AWS_CA_BUNDLE, else the profile's ca_bundle, as in the SDKs.
func NewProfileHTTPClient(lookupEnv func(string) (string, bool), prof *config.Profile) (aws.HTTPClient, error) {
	c := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 10 * time.Second }).
		WithTimeout(60 * time.Second)
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	path, what, fix := "", "", ""
	if v, ok := lookupEnv("AWS_CA_BUNDLE"); ok && v != "" {
		path, what, fix = v, "AWS_CA_BUNDLE "+v, "point AWS_CA_BUNDLE at %s, or unset it"
	} else if prof != nil && prof.CABundle != "" {
		path = prof.CABundle
		what = fmt.Sprintf("ca_bundle %s of profile %q", path, prof.Name)
		if o := prof.Origins[config.KeyCABundle]; o != "" {
			what += " (" + o + ")"
		}
		fix = "point the profile's ca_bundle at %s, or remove it"
	}
	if path == "" {
		return c, nil
	}
	pem, err := readCABundle(path)
	if err != nil {
		return nil, &ProviderError{Err: fmt.Errorf("reading %s: %w", what, err),
			HintLine: fmt.Sprintf(fix, "a readable PEM file")}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &ProviderError{Err: fmt.Errorf("%s holds no PEM certificates", what),
			HintLine: fmt.Sprintf(fix, "a PEM file of CA certificates")}
	}
	return c.WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
	}), nil
}

// maxCABundle bounds what a CA bundle read may allocate: the system's whole
// store is well under 1 MiB.
const maxCABundle = 16 << 20

// readCABundle reads a regular file of at most maxCABundle bytes, so a
// FIFO or /dev/zero named by mistake is an error, not a hang.
func readCABundle(path string) ([]byte, error) {
	return config.ReadBounded(path, maxCABundle)
}

// legacyGlobalRegions are the regions whose STS calls went to the global
// endpoint when sts_regional_endpoints = legacy (botocore's list).
var legacyGlobalRegions = map[string]bool{
	"ap-northeast-1": true, "ap-south-1": true, "ap-southeast-1": true, "ap-southeast-2": true,
	"aws-global": true, "ca-central-1": true, "eu-central-1": true, "eu-north-1": true,
	"eu-west-1": true, "eu-west-2": true, "eu-west-3": true, "sa-east-1": true,
	"us-east-1": true, "us-east-2": true, "us-west-1": true, "us-west-2": true,
}

// stsEndpoint returns the base endpoint override for a plan, or "" to let the
// SDK resolve the regional endpoint.
func stsEndpoint(pl *plan.Plan, region string) string {
	if pl.EndpointURL != "" {
		return strings.TrimRight(pl.EndpointURL, "/")
	}
	if strings.EqualFold(pl.STSRegionalEndpoints, "legacy") && legacyGlobalRegions[region] {
		return "https://sts.amazonaws.com"
	}
	return ""
}

func planRegion(pl *plan.Plan) string {
	if pl.Region != "" {
		return pl.Region
	}
	return DefaultRegion
}

// stsClient returns an STS client that signs with creds (anonymous when creds
// is nil, for AssumeRoleWithWebIdentity).
func (p *Provider) stsClient(pl *plan.Plan, creds *aws.Credentials) *sts.Client {
	region := planRegion(pl)
	o := sts.Options{
		Region:     region,
		HTTPClient: p.client(pl),
	}
	if creds != nil {
		o.Credentials = awscreds.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	} else {
		o.Credentials = aws.AnonymousCredentials{}
	}
	if ep := stsEndpoint(pl, region); ep != "" {
		o.BaseEndpoint = aws.String(ep)
	}
	return sts.New(o)
}

// noResend is the per-call option for STS calls that carry an MFA code. AWS
// accepts a code once, so a request that may have reached it is never sent
// again: if STS used the code and only the reply was lost, the same request
// would be refused as a reused code. Only a connection that never opened is
// retried, as the SDK would; everything else is the provider's to handle,
// with the next code.
func noResend(o *sts.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if !requestNeverSent(err) {
				return aws.FalseTernary
			}
			return retry.RetryableConnectionError{}.IsErrorRetryable(err)
		})}
	})
}

// client returns the HTTP client for AWS calls, building it on first use
// with the CA bundle of plan's profile (see NewProfileHTTPClient).
func (p *Provider) client(pl *plan.Plan) aws.HTTPClient {
	p.httpOnce.Do(func() {
		if p.HTTPClient != nil {
			return
		}
		var prof *config.Profile
		if pl != nil {
			prof = pl.Profile
		}
		c, err := NewProfileHTTPClient(p.lookupEnv, prof)
		if err != nil {
			p.HTTPClient = failingHTTPClient{err}
			return
		}
		p.HTTPClient = c
	})
	return p.HTTPClient
}

// failingHTTPClient reports why no HTTP client could be built (a bad
// AWS_CA_BUNDLE) on the first call that needs one.
type failingHTTPClient struct{ err error }

func (f failingHTTPClient) Do(*http.Request) (*http.Response, error) { return nil, f.err }
