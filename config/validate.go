// Checks and parsers of single values: role ARNs, session names, endpoint URLs, session tags, lists.

package config

import (
	"fmt"
	"sort"
	"strings"
)

// ValidRoleARN reports whether s is an IAM role ARN:
// arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME with a 12-digit account.
func ValidRoleARN(s string) bool {
	a, ok := ParseIAMARN(s)
	return ok && a.Type == "role"
}

// IAMARN is an IAM ARN taken apart: arn:Partition:iam::Account:Type/[PATH/]Name.
type IAMARN struct {
	Partition, Account string
	Type               string // role, user, mfa, …
	Name               string // the last segment, without the path
}

// ParseIAMARN splits s if it is an IAM ARN with an aws partition, a 12-digit
// account and a resource TYPE/[PATH/]NAME of IAM name characters. It is the
// one parser of role, user and MFA device ARNs for config and the packages
// that read its values (doctor, cli).
func ParseIAMARN(s string) (IAMARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[3] != "" {
		return IAMARN{}, false
	}
	if !validPartition(parts[1]) || len(parts[4]) != 12 || !allDigits(parts[4]) {
		return IAMARN{}, false
	}
	typ, rest, ok := strings.Cut(parts[5], "/")
	if !ok || typ == "" || rest == "" || strings.HasSuffix(rest, "/") || strings.HasPrefix(rest, "/") {
		return IAMARN{}, false
	}
	for _, r := range rest {
		if !isIAMNameRune(r) && r != '/' {
			return IAMARN{}, false
		}
	}
	return IAMARN{Partition: parts[1], Account: parts[4], Type: typ, Name: rest[strings.LastIndexByte(rest, '/')+1:]}, true
}

// validPartition accepts aws and the aws-* partitions (aws-cn, aws-us-gov,
// aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc, and any new one of the
// same shape) without a list to keep current.
func validPartition(p string) bool {
	if p == "aws" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "aws-")
	if !ok || rest == "" || strings.HasSuffix(rest, "-") {
		return false
	}
	for _, r := range rest {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isIAMNameRune is the character set of IAM role and session names.
func isIAMNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+=,.@_-", r)
}

func validSessionName(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !isIAMNameRune(r) {
			return false
		}
	}
	return true
}

// command is a command key's value as the line the shell runs: continuation
// lines join with a space, as the AWS CLI runs them (it splits the value
// into words). The SDK keeps the newline, so sh would run each line as a
// command of its own, which is never what a continued command means.
func command(v string) string {
	return strings.ReplaceAll(v, "\n", " ")
}

func validEndpointURL(s string) bool {
	scheme, rest, ok := strings.Cut(s, "://")
	return ok && (scheme == "https" || scheme == "http") && rest != "" && rest[0] != '/'
}

// parseSessionTags reads aws-vault's format: key1=value1,key2=value2.
func parseSessionTags(s string) (map[string]string, error) {
	tags := make(map[string]string)
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", strings.TrimSpace(kv))
		}
		tags[k] = strings.TrimSpace(v)
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("no tags")
	}
	return tags, nil
}

// splitList reads a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}
