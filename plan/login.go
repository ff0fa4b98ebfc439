package plan

import (
	"time"

	"github.com/rolevault/rolevault/config"
)

// ForEnvironmentLogin is the plan for signing in with the credentials in
// AWS_ACCESS_KEY_ID and friends, when login is given no profile (as inside
// 'rolevault exec'). Temporary credentials are used as they are; long-term
// keys first become a federation token, since the console takes no
// long-term keys. Nothing is cached: the keys are not rolevault's.
func ForEnvironmentLogin(region, endpointURL string, longTerm bool, d time.Duration) (*Plan, error) {
	p := &config.Profile{Name: "environment", Region: region, Endpoints: config.Endpoints{EndpointURL: endpointURL}, CredentialSource: "Environment"}
	plan := &Plan{Profile: p, Region: region, EndpointURL: endpointURL, MinTTL: config.DefaultMinTTL,
		Steps: []Step{{Kind: StepEnvironment, Profile: p.Name}}}
	if !longTerm {
		return plan, nil
	}
	why := "--duration"
	if d == 0 {
		d, why = DefaultFederationTokenDuration, "default for GetFederationToken"
	}
	if err := checkDuration(p, StepGetFederationToken, d, maxSessionTokenDuration); err != nil {
		return nil, err
	}
	plan.Steps = append(plan.Steps, Step{Kind: StepGetFederationToken, Profile: p.Name, Duration: d, DurationReason: why})
	return plan, nil
}
