package plan

import (
	"testing"

	"github.com/rolevault/rolevault/config"
)

func TestResolveSelfSourceMeansOwnKeys(t *testing.T) {
	c := loadTest(t, `
[profile me]
role_arn = arn:aws:iam::111111111111:role/r
source_profile = me
`, "", nil)
	p, err := c.Resolve("me", config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Steps) != 2 || pl.Steps[0].Kind != StepStoredKeys || pl.Steps[0].Profile != "me" || pl.Steps[1].Kind != StepAssumeRole {
		t.Errorf("steps = %+v", pl.Steps)
	}
}
