// Package e2e holds black-box tests: they build the rolevault binary once and
// drive it the way people and programs do, with real keyring backends, the real
// AWS CLI and boto3, and a real terminal through tmux.
package e2e
