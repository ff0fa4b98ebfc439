package iampolicy

import (
	"encoding/json"
	"slices"
)

// Version is the IAM policy language version every document uses.
const Version = "2012-10-17"

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement. Lists are sorted; a list of one
// is written as a plain string, as the IAM console writes it.
type Statement struct {
	Sid       string     `json:"Sid"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    List       `json:"Action"`
	Resource  List       `json:"Resource,omitempty"`
	// Condition maps operator → key → values; encoding/json writes map keys
	// sorted, so the output is deterministic.
	Condition map[string]map[string]List `json:"Condition,omitempty"`
}

// Principal is a trust policy's principal block.
type Principal struct {
	AWS List `json:"AWS"`
}

// List is a set of strings, written as a string when it has one member.
type List []string

// MarshalJSON writes one member as a string, more as an array.
func (l List) MarshalJSON() ([]byte, error) {
	if len(l) == 1 {
		return json.Marshal(l[0])
	}
	return json.Marshal([]string(l))
}

// UnmarshalJSON accepts both forms.
func (l *List) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = List{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

func sortedSet(xs ...[]string) List {
	var out []string
	for _, x := range xs {
		out = append(out, x...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// JSON is the document indented as the IAM console shows it.
func (d Document) JSON() []byte {
	b, _ := json.MarshalIndent(d, "", "  ") // plain data: cannot fail
	return b
}

// Without returns a copy of d without its i-th statement (for tests and
// for naming the statement a failing call needs).
func (d Document) Without(i int) Document {
	c := Document{Version: d.Version}
	c.Statement = append(slices.Clone(d.Statement[:i]), d.Statement[i+1:]...)
	return c
}

func sortStrings(xs []string) { slices.Sort(xs) }
