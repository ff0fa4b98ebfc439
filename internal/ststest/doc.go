// Package ststest is an in-process emulator of AWS STS, IAM and the console
// federation endpoint for tests and the demo. It verifies SigV4 signatures, MFA
// codes and STS limits the way AWS does. On the same base URL it emulates IAM
// Identity Center: the SSO OIDC service (/client/register,
// /device_authorization, /token), the sign-in pages a browser visits
// (/authorize, /device, /consent) and the portal (/federation/credentials,
// /assignment/accounts, /assignment/roles, /logout), whose role credentials
// STS accepts. The rolevault binary never links it.
package ststest
