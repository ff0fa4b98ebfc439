package iampolicy

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// tfValue evaluates a literal attribute; the generated Terraform holds
// nothing but literals and references to data sources.
var tfNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func tfValue(t *testing.T, a *hclsyntax.Attribute) cty.Value {
	t.Helper()
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", a.Name, diags)
	}
	return v
}

func tfStrings(t *testing.T, a *hclsyntax.Attribute) List {
	t.Helper()
	var out List
	for it := tfValue(t, a).ElementIterator(); it.Next(); {
		_, v := it.Element()
		out = append(out, v.AsString())
	}
	return out
}

// documentFromHCL reads an aws_iam_policy_document block back into a
// Document, the way Terraform's data source turns it into JSON.
func documentFromHCL(t *testing.T, body *hclsyntax.Body) Document {
	t.Helper()
	d := Document{Version: Version}
	for _, sb := range body.Blocks {
		if sb.Type != "statement" {
			t.Fatalf("unexpected block %q in a policy document", sb.Type)
		}
		a := sb.Body.Attributes
		s := Statement{Sid: tfValue(t, a["sid"]).AsString(), Effect: tfValue(t, a["effect"]).AsString(), Action: tfStrings(t, a["actions"])}
		if r, ok := a["resources"]; ok {
			s.Resource = tfStrings(t, r)
		}
		for _, inner := range sb.Body.Blocks {
			switch inner.Type {
			case "principals":
				if tfValue(t, inner.Body.Attributes["type"]).AsString() != "AWS" {
					t.Errorf("principals type is not AWS")
				}
				s.Principal = &Principal{AWS: tfStrings(t, inner.Body.Attributes["identifiers"])}
			case "condition":
				if s.Condition == nil {
					s.Condition = map[string]map[string]List{}
				}
				op := tfValue(t, inner.Body.Attributes["test"]).AsString()
				if s.Condition[op] == nil {
					s.Condition[op] = map[string]List{}
				}
				s.Condition[op][tfValue(t, inner.Body.Attributes["variable"]).AsString()] = tfStrings(t, inner.Body.Attributes["values"])
			default:
				t.Errorf("unexpected block %q in a statement", inner.Type)
			}
		}
		d.Statement = append(d.Statement, s)
	}
	return d
}

func refersTo(t *testing.T, a *hclsyntax.Attribute) string {
	t.Helper()
	tr, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() {
		t.Fatalf("%s is not a reference: %v", a.Name, diags)
	}
	var parts []string
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			parts = append(parts, s.Name)
		case hcl.TraverseAttr:
			parts = append(parts, s.Name)
		}
	}
	return strings.Join(parts, ".")
}

func TestTerraformIsValidHCLAndSaysWhatTheJSONSays(t *testing.T) {
	chains := append(seedsChains(), Chain{Name: "ext", Calls: []Call{
		{Kind: AssumeRole, Caller: aliceArn, RoleARN: roleArn("prod", "vendor"), MFA: MFAInCall, ExternalID: `a"b${c}%{d}`, Duration: 3 * time.Hour},
	}})
	res, err := Generate(chains, Options{MFAMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	src := res.Terraform()
	f, diags := hclsyntax.ParseConfig(src, "policy.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("not valid HCL: %v\n%s", diags, src)
	}
	body := f.Body.(*hclsyntax.Body)
	docs := map[string]Document{}
	roles := map[string]*hclsyntax.Body{}
	policies := map[string]*hclsyntax.Body{}
	providers := map[string]bool{}
	for _, b := range body.Blocks {
		for _, l := range b.Labels[min(1, len(b.Labels)):] {
			if !tfNameRE.MatchString(l) {
				t.Errorf("%s name %q is not a valid Terraform name", b.Type, l)
			}
		}
		switch {
		case b.Type == "provider" && len(b.Labels) == 1 && b.Labels[0] == "aws":
			providers["aws."+tfValue(t, b.Body.Attributes["alias"]).AsString()] = true
		case b.Type == "data" && len(b.Labels) == 2 && b.Labels[0] == "aws_iam_policy_document":
			docs["data.aws_iam_policy_document."+b.Labels[1]+".json"] = documentFromHCL(t, b.Body)
		case b.Type == "resource" && len(b.Labels) == 2 && b.Labels[0] == "aws_iam_role":
			roles[b.Labels[1]] = b.Body
		case b.Type == "resource" && len(b.Labels) == 2 && b.Labels[0] == "aws_iam_policy":
			policies[b.Labels[1]] = b.Body
		default:
			t.Errorf("unexpected block %s %v", b.Type, b.Labels)
		}
	}
	if len(roles) != len(res.Roles) || len(policies) != len(res.Identities) {
		t.Fatalf("%d roles and %d policies in Terraform, want %d and %d", len(roles), len(policies), len(res.Roles), len(res.Identities))
	}
	for _, r := range res.Roles {
		rb := roles[tfName("role", r.Account, r.Name)]
		if rb == nil {
			t.Errorf("no aws_iam_role for %s", r.ARN)
			continue
		}
		if got := tfValue(t, rb.Attributes["name"]).AsString(); got != r.Name {
			t.Errorf("%s: name = %q", r.ARN, got)
		}
		if got, _ := tfValue(t, rb.Attributes["max_session_duration"]).AsBigFloat().Int64(); got != int64(r.MaxSessionDuration.Seconds()) {
			t.Errorf("%s: max_session_duration = %d", r.ARN, got)
		}
		if p := refersTo(t, rb.Attributes["provider"]); !providers[p] || p != "aws.account_"+r.Account {
			t.Errorf("%s: provider %s", r.ARN, p)
		}
		doc, ok := docs[refersTo(t, rb.Attributes["assume_role_policy"])]
		if !ok {
			t.Errorf("%s: assume_role_policy names no policy document", r.ARN)
		} else if !reflect.DeepEqual(doc, r.Trust) {
			t.Errorf("%s: Terraform trust policy\n%s\nJSON trust policy\n%s", r.ARN, doc.JSON(), r.Trust.JSON())
		}
	}
	for _, id := range res.Identities {
		found := false
		for _, pb := range policies {
			if doc := docs[refersTo(t, pb.Attributes["policy"])]; reflect.DeepEqual(doc, id.Policy) {
				found = true
			}
		}
		if !found {
			t.Errorf("no aws_iam_policy carries the identity policy of %s %s", id.Kind, id.Account)
		}
	}
	// The policy variable stays literal for IAM, not a Terraform template.
	if !strings.Contains(string(src), `"arn:aws:iam::026445672617:user/$${aws:username}"`) {
		t.Errorf("${aws:username} is not escaped for Terraform")
	}
}
