package keychain

import (
	"time"

	"github.com/rolevault/rolevault/plan"
)

// Session is the JSON value of a cached session item.
type Session struct {
	Kind            plan.StepKind `json:"kind"`
	Profile         string        `json:"profile"`
	AccessKeyID     string        `json:"access_key_id"`
	SecretAccessKey string        `json:"secret_access_key"`
	SessionToken    string        `json:"session_token"`
	Expiration      time.Time     `json:"expiration"`
}
