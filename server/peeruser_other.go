//go:build !linux

package server

import "net/netip"

// Only Linux publishes socket owners in a form we read without privileges or
// cgo; elsewhere the user check is skipped and docs/security.md says so.

func connectionUID(client, server netip.AddrPort) (int, error) { return -1, errNoPeerUser }

func listenerUID(addr netip.AddrPort) (int, error) { return -1, errNoPeerUser }
