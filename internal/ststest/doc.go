// Package ststest is an in-process emulator of AWS STS, IAM and the console
// federation endpoint for tests and the demo. It verifies SigV4 signatures, MFA
// codes and STS limits the way AWS does. The rolevault binary never links it.
package ststest
