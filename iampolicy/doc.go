// Package iampolicy derives the IAM policies a credential chain needs: the
// trust policy and MaxSessionDuration of every role it assumes, and the
// identity policy of every principal that makes one of its STS calls.
package iampolicy
