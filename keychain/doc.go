// Package keychain opens a keyring backend and keeps rolevault's items in it:
// long-term keys in aws-vault's layout (KeyStore), cached sessions
// (SessionCache), their cross-process locks and the private cache directory.
package keychain
