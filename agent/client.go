// The client side: dial the agent (after checking the socket is this user's alone), say hello, and send requests; a lock held through the agent lives on its own connection.

package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrNoAgent matches Dial's error when nothing is listening at the socket.
var ErrNoAgent = errors.New("no agent is running")

// ErrOtherVersion matches Dial's error when the agent speaks another version.
var ErrOtherVersion = errors.New("the agent speaks another protocol version")

// clientUID is the uid an agent must run as to be used: this process's.
var clientUID = os.Getuid

// dialTimeout bounds connecting and the hello: an agent that does not answer
// in this time is not used.
const dialTimeout = 3 * time.Second

// Client is one connection to an agent.
type Client struct {
	Path   string
	Status Status // as the hello reported it

	mu   sync.Mutex
	conn *net.UnixConn
}

// Dial connects to the agent at path. It refuses a socket in a directory
// another user owns or others may enter, and an agent run by another user.
func Dial(path string) (*Client, error) {
	if !Supported {
		return nil, errors.New(UnsupportedReason)
	}
	if err := CheckDir(filepath.Dir(path)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNoAgent, path)
		}
		return nil, err
	}
	if err := checkSocketFile(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNoAgent, path)
		}
		return nil, err
	}
	c, st, err := dialHello(path)
	if err != nil {
		return nil, err
	}
	return &Client{Path: path, Status: st, conn: c}, nil
}

func dialHello(path string) (*net.UnixConn, Status, error) {
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.Dial("unix", path)
	if err != nil {
		return nil, Status{}, fmt.Errorf("%w at %s (%v)", ErrNoAgent, path, err)
	}
	c := nc.(*net.UnixConn)
	// The other end must be this user's: a socket someone else bound (in a
	// directory that was checked a moment ago) gets no request.
	if uid, err := peerUID(c); err != nil || uid != clientUID() {
		c.Close()
		return nil, Status{}, fmt.Errorf("the process at %s is not yours (uid %d): not using it", path, uid)
	}
	_ = c.SetDeadline(time.Now().Add(dialTimeout))
	var resp Response
	werr := WriteFrame(c, Request{Op: OpHello, Protocol: Protocol, Version: Version})
	// Read even when the write failed: an agent that refuses this caller
	// answers and closes at once, maybe before the hello arrived.
	if err = ReadFrame(c, &resp); err != nil && werr != nil {
		err = werr
	}
	if err != nil {
		c.Close()
		return nil, Status{}, fmt.Errorf("the agent at %s did not answer: %v", path, err)
	}
	if resp.Error != nil {
		c.Close()
		if resp.Error.Kind == KindVersion {
			return nil, Status{}, fmt.Errorf("%w: %s", ErrOtherVersion, resp.Error.Message)
		}
		return nil, Status{}, fmt.Errorf("the agent at %s: %s", path, resp.Error.Message)
	}
	if resp.Protocol != Protocol || resp.Status == nil {
		c.Close()
		return nil, Status{}, fmt.Errorf("the process at %s does not speak %s", path, Protocol)
	}
	_ = c.SetDeadline(time.Time{})
	return c, *resp.Status, nil
}

// TransportError is a request that got no answer: the agent went away or
// broke the connection. The caller can do the same work without the agent.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return "the agent did not answer: " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// Do sends one request and returns the agent's answer; the error is a
// *TransportError when there was none, else the error the agent reported.
func (c *Client) Do(req Request) (Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return Response{}, &TransportError{Err: net.ErrClosed}
	}
	var resp Response
	err := WriteFrame(c.conn, req)
	if err == nil {
		err = ReadFrame(c.conn, &resp)
	}
	if err != nil {
		c.conn.Close()
		c.conn = nil
		return Response{}, &TransportError{Err: err}
	}
	return resp, resp.Error.err()
}

// Close ends the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
