// The wire: 4-byte big-endian length-prefixed JSON frames on a Unix stream socket, hello first.

package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/99designs/keyring"
)

// Protocol and Version are what a hello names. A client and an agent of
// different versions do not talk: the client uses the keyring directly.
// Version 2 dropped the lock operations: every process takes the session
// locks itself, so a version-1 client must not ask a version-2 agent.
const (
	Protocol = "rolevault-agent"
	Version  = 2
)

// MaxFrame bounds one frame. The largest thing sent is an item, which the
// file backend already bounds to 1 MiB (base64 in JSON makes it 4/3 bigger).
const MaxFrame = 2 << 20

// ErrHTTP is the error for a connection that starts like an HTTP request: a
// web page can make a browser send HTTP to a local socket (through a proxy
// or a local bridge), never a length-prefixed frame, and the agent closes it.
var ErrHTTP = errors.New("refused: the connection speaks HTTP, not the rolevault agent protocol")

// ErrFrameTooBig is the error for a frame longer than MaxFrame.
var ErrFrameTooBig = fmt.Errorf("refused: frame longer than %d bytes", MaxFrame)

// The operations a Request names.
const (
	OpHello  = "hello"
	OpStatus = "status"
	OpGet    = "get"
	OpSet    = "set"
	OpRemove = "remove"
	OpKeys   = "keys"
	OpUnlock = "unlock"
	OpLock   = "lock"
	OpStop   = "stop"
)

// Request is one frame from a client.
type Request struct {
	Op       string `json:"op"`
	Protocol string `json:"protocol,omitempty"`
	Version  int    `json:"version,omitempty"`

	Key  string        `json:"key,omitempty"`
	Item *keyring.Item `json:"item,omitempty"`

	// unlock: the file passphrase the client asked for, and whether it came
	// from AWS_VAULT_FILE_PASSPHRASE (a wrong one is explained differently).
	Passphrase string `json:"passphrase,omitempty"`
	FromEnv    bool   `json:"from_env,omitempty"`
}

// Response is one frame from the agent.
type Response struct {
	Error *WireError `json:"error,omitempty"`

	// hello
	Protocol string `json:"protocol,omitempty"`
	Version  int    `json:"version,omitempty"`

	Item *keyring.Item `json:"item,omitempty"`
	Keys []string      `json:"keys,omitempty"`

	// lock-acquire sends Waiting (who holds the lock) before it answers.
	Waiting string `json:"waiting,omitempty"`

	Status *Status `json:"status,omitempty"`
}

// Status is what hello and status report; it names no secret.
type Status struct {
	PID       int    `json:"pid"`
	Locked    bool   `json:"locked"`
	Requested string `json:"requested_backend"` // "" when the agent chose the first that works
	Backend   string `json:"backend"`           // the backend it opened
	Place     string `json:"place"`             // keychain.Options.Place of Backend
	// Seconds left until the agent forgets its secrets (zero when locked).
	LifetimeLeft int `json:"lifetime_left"`
	IdleLeft     int `json:"idle_left"`
	Items        int `json:"items"` // items held in memory (counted, never named)
}

// WriteFrame writes v as one frame.
func WriteFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > MaxFrame {
		return ErrFrameTooBig
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// ReadFrame reads one frame into v. A frame longer than MaxFrame, or bytes
// that begin an HTTP request, are refused before anything more is read.
func ReadFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	if looksLikeHTTP(hdr[:]) {
		return ErrHTTP
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return ErrFrameTooBig
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("refused: a frame that is not JSON: %w", err)
	}
	return nil
}

// looksLikeHTTP: every HTTP/1 method and the HTTP/2 preface start with an
// upper-case ASCII letter, and a frame's length never does (its first byte
// is zero: MaxFrame is far below 2^24).
func looksLikeHTTP(hdr []byte) bool {
	return hdr[0] >= 'A' && hdr[0] <= 'Z'
}
