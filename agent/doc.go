// Package agent is rolevault's second door to the keyring: a process that
// holds the opened backend (and the file passphrase it was given once) and
// serves item reads, writes and session locks over a user-only Unix socket,
// and the client side that a run uses in place of opening the backend.
package agent
