// Package plan is pure: a resolved config.Profile in, the ordered steps out
// (key source, GetSessionToken, AssumeRole, …) with durations and the session
// cache key of each. explain, the providers and policy all read the same plan.
package plan
