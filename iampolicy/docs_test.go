package iampolicy

import (
	"os"
	"strings"
	"testing"
)

// docs/policy.md shows the seeds' group policy and a trust policy; they
// must be what Generate prints for that layout.
func TestDocsShowTheGeneratedSeedsPolicies(t *testing.T) {
	b, err := os.ReadFile("../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(b), "```json\n")[1:] {
		blocks = append(blocks, strings.TrimSpace(strings.SplitN(part, "```", 2)[0]))
	}
	res, err := Generate(seedsChains(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{string(res.Identities[0].Policy.JSON()), string(res.Roles[0].Trust.JSON())}
	if len(blocks) != len(want) {
		t.Fatalf("docs/policy.md has %d JSON blocks, want %d", len(blocks), len(want))
	}
	for i := range want {
		if blocks[i] != want[i] {
			t.Errorf("docs/policy.md JSON block %d:\n%s\nGenerate says:\n%s", i+1, blocks[i], want[i])
		}
	}
}
