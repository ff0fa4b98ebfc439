// Package vault is rolevault's domain: it reads the AWS config into resolved
// profiles, plans the STS calls a profile needs, runs them through the session
// cache and its cross-process lock, and stores long-term keys in the keyring.
package vault
