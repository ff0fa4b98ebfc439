package credentials

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rolevault/rolevault/plan"
)

// STSClient is an STS client for pl's endpoint, region and HTTP client (CA
// bundle included), signed with creds: the client the provider's own calls
// use, for checks that make their own calls (doctor).
func (p *Provider) STSClient(pl *plan.Plan, creds aws.Credentials, optFns ...func(*sts.Options)) *sts.Client {
	c := p.stsClient(pl, &creds)
	if len(optFns) == 0 {
		return c
	}
	return sts.New(c.Options(), optFns...)
}

// IAMClient is an IAM client for pl's partition and iam endpoint, signed
// with creds (see iamClient).
func (p *Provider) IAMClient(pl *plan.Plan, creds aws.Credentials, optFns ...func(*iam.Options)) (*iam.Client, error) {
	c, err := p.iamClient(pl, creds)
	if err != nil || len(optFns) == 0 {
		return c, err
	}
	return iam.New(c.Options(), optFns...), nil
}

// STSEndpointName names the STS endpoint pl's calls go to, for messages:
// the endpoint_url, or the regional endpoint of its region.
func STSEndpointName(pl *plan.Plan) string {
	region := planRegion(pl)
	if ep := stsEndpoint(pl, region); ep != "" {
		return ep
	}
	return "https://sts." + region + ".amazonaws.com"
}

// PlanRegion is the region pl's STS calls are signed for.
func PlanRegion(pl *plan.Plan) string { return planRegion(pl) }
