//go:build linux

package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// TCP states in /proc/net/tcp (include/net/tcp_states.h).
const (
	tcpEstablished = 0x01
	tcpCloseWait   = 0x08
	tcpListen      = 0x0A
)

// procTCPFiles are read in turn: a client socket is AF_INET or, for a
// dual-stack client talking to 127.0.0.1, AF_INET6 with a v4-mapped address.
var procTCPFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

type sockEntry struct {
	local, remote netip.AddrPort
	state         int
	uid           int
}

// connectionUID returns the owner of the live socket whose local end is client
// and remote end is server. Only live states count: a TIME_WAIT entry for the
// same addresses belongs to an old connection and reports uid 0.
func connectionUID(client, server netip.AddrPort) (int, error) {
	return findSocket(isConnection(client, server))
}

func isConnection(client, server netip.AddrPort) func(sockEntry) bool {
	return func(e sockEntry) bool {
		return (e.state == tcpEstablished || e.state == tcpCloseWait) &&
			sameAddrPort(e.local, client) && sameAddrPort(e.remote, server)
	}
}

// listenerUID returns the owner of the socket listening on addr.
func listenerUID(addr netip.AddrPort) (int, error) {
	return findSocket(isListener(addr))
}

func isListener(addr netip.AddrPort) func(sockEntry) bool {
	return func(e sockEntry) bool {
		return e.state == tcpListen && sameAddrPort(e.local, addr)
	}
}

func findSocket(match func(sockEntry) bool) (int, error) {
	for _, name := range procTCPFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			if os.IsNotExist(err) {
				continue // no IPv6 in this kernel
			}
			return -1, err
		}
		for _, e := range parseProcNetTCP(data) {
			if match(e) {
				return e.uid, nil
			}
		}
	}
	return -1, fmt.Errorf("%w in %s", errNoSocket, strings.Join(procTCPFiles, " or "))
}

// parseProcNetTCP reads the socket table format of /proc/net/tcp{,6}:
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//	 0: 0100007F:A551 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 199662 …
//
// Addresses are 32-bit words printed in host byte order, ports big-endian.
// Lines that do not parse are skipped.
func parseProcNetTCP(data []byte) []sockEntry {
	var out []sockEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || !strings.HasSuffix(f[0], ":") {
			continue // the header
		}
		local, ok1 := parseProcAddr(f[1])
		remote, ok2 := parseProcAddr(f[2])
		state, err1 := strconv.ParseUint(f[3], 16, 8)
		uid, err2 := strconv.ParseUint(f[7], 10, 32)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			continue
		}
		out = append(out, sockEntry{local: local, remote: remote, state: int(state), uid: int(uid)})
	}
	return out
}

// parseProcAddr parses "0100007F:1F90" (IPv4) or 32 hex digits and a port
// (IPv6).
func parseProcAddr(s string) (netip.AddrPort, bool) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok || (len(hexAddr) != 8 && len(hexAddr) != 32) {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw := make([]byte, len(hexAddr)/2)
	for i := 0; i < len(hexAddr); i += 8 {
		w, err := strconv.ParseUint(hexAddr[i:i+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		binary.NativeEndian.PutUint32(raw[i/2:], uint32(w))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), true
}

// sameAddrPort compares with v4-mapped IPv6 addresses taken as IPv4.
func sameAddrPort(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}
