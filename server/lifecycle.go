package server

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
)

// lifecycle is the part of running a credential server that the ECS and EC2
// servers share: serve a listener until the context they were started with
// ends or Close is called, and on Close wait for Serve to return.
type lifecycle struct {
	srv       *http.Server
	cancel    context.CancelFunc
	served    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// serve starts serving ln with h in the background. base is the server's own
// context (cancelled by close); it is also every request's context.
func (l *lifecycle) serve(base context.Context, cancel context.CancelFunc, ln net.Listener, h http.Handler) {
	l.cancel = cancel
	l.served = make(chan struct{})
	l.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	go func() {
		defer close(l.served)
		_ = l.srv.Serve(ln)
	}()
	go func() {
		<-base.Done()
		_ = l.close()
	}()
}

// close stops the server once, however often it is called.
func (l *lifecycle) close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		l.closeErr = l.srv.Close()
		<-l.served
	})
	return l.closeErr
}
