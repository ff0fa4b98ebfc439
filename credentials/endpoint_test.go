package credentials

import (
	"errors"
	"strings"
	"testing"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/plan"
)

// TestResolveEndpoints: the STS and IAM endpoints follow the SDKs'
// service-specific precedence, AWS_ENDPOINT_URL_<SERVICE> >
// AWS_ENDPOINT_URL > [services NAME] <service> endpoint_url > the profile's
// endpoint_url, and ignore_configured_endpoint_urls (or its variable, which
// wins over the profile) switches all of them off.
func TestResolveEndpoints(t *testing.T) {
	const cfg = `
[profile plain]
endpoint_url = http://profile:1

[profile svc]
endpoint_url = http://profile:1
services = local

[profile svc-only]
services = local

[profile ignoring]
endpoint_url = http://profile:1
services = local
ignore_configured_endpoint_urls = true

[profile not-ignoring]
endpoint_url = http://profile:1
ignore_configured_endpoint_urls = false

[profile missing-services]
services = nope

[services local]
sts =
  endpoint_url = http://services-sts:2
iam =
  endpoint_url = http://services-iam:3
s3 =
  endpoint_url = http://services-s3:4
`
	type want struct{ all, sts, iam string }
	tests := []struct {
		name    string
		profile string
		env     map[string]string
		want    want
		origin  string // what Origins[sts_endpoint_url] mentions
	}{
		{"profile endpoint_url", "plain", nil, want{"http://profile:1", "http://profile:1", "http://profile:1"}, "config"},
		{"services section beats the profile's endpoint_url", "svc", nil, want{"http://profile:1", "http://services-sts:2", "http://services-iam:3"}, "[services local] sts endpoint_url"},
		{"services section alone", "svc-only", nil, want{"", "http://services-sts:2", "http://services-iam:3"}, "[services local]"},
		{"AWS_ENDPOINT_URL beats the services section", "svc", map[string]string{"AWS_ENDPOINT_URL": "http://env:5"}, want{"http://env:5", "http://env:5", "http://env:5"}, "AWS_ENDPOINT_URL"},
		{"AWS_ENDPOINT_URL_STS beats AWS_ENDPOINT_URL", "svc", map[string]string{"AWS_ENDPOINT_URL": "http://env:5", "AWS_ENDPOINT_URL_STS": "http://env-sts:6"}, want{"http://env:5", "http://env-sts:6", "http://env:5"}, "AWS_ENDPOINT_URL_STS"},
		{"ignore_configured_endpoint_urls in the profile", "ignoring", map[string]string{"AWS_ENDPOINT_URL": "http://env:5", "AWS_ENDPOINT_URL_STS": "http://env-sts:6"}, want{}, ""},
		{"the variable ignores them too", "svc", map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE", "AWS_ENDPOINT_URL_STS": "http://env-sts:6"}, want{}, ""},
		{"the variable beats the profile", "ignoring", map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"}, want{"http://profile:1", "http://services-sts:2", "http://services-iam:3"}, "[services local]"},
		{"false is false", "not-ignoring", nil, want{"http://profile:1", "http://profile:1", "http://profile:1"}, "config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := loadTest(t, cfg, "", tc.env)
			p, err := c.Resolve(tc.profile, config.Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			if got := (want{p.EndpointURL, p.STSEndpointURL, p.IAMEndpointURL}); got != tc.want {
				t.Errorf("endpoints (all, sts, iam) = %q, want %q", got, tc.want)
			}
			if !strings.Contains(p.Origins[config.OriginSTSEndpointURL], tc.origin) {
				t.Errorf("Origins[sts] = %q, want it to mention %q", p.Origins[config.OriginSTSEndpointURL], tc.origin)
			}
			pl, err := plan.New(p, plan.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := stsEndpoint(pl, planRegion(pl)); got != tc.want.sts {
				t.Errorf("STS calls go to %q, want %q", got, tc.want.sts)
			}
		})
	}

	t.Run("a missing services section is a warning", func(t *testing.T) {
		p, err := loadTest(t, cfg, "", nil).Resolve("missing-services", config.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		if p.STSEndpointURL != "" || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "[services nope]") {
			t.Errorf("sts %q, warnings %q", p.STSEndpointURL, p.Warnings)
		}
	})
	for _, bad := range []struct{ name, config, env, msg string }{
		{"ignore value", "[profile a]\nignore_configured_endpoint_urls = yes\n", "", "must be true or false"},
		{"ignore variable", "[profile a]\n", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"},
		{"services endpoint", "[profile a]\nservices = x\n[services x]\nsts =\n  endpoint_url = localhost:4566\n", "", "{config}:3: profile \"a\": endpoint_url \"localhost:4566\" in [services x]"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			env := map[string]string{}
			if k, v, ok := strings.Cut(bad.env, "="); ok {
				env[k] = v
			}
			c := loadTest(t, bad.config, "", env)
			_, err := c.Resolve("a", config.Overrides{})
			if !errors.Is(err, config.ErrInvalidValue) || !strings.Contains(err.Error(), strings.ReplaceAll(bad.msg, "{config}", c.ConfigPath())) {
				t.Errorf("err = %v, want %q", err, bad.msg)
			}
		})
	}
}
