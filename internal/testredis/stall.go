package testredis

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Staller is a TCP proxy in front of the test Redis that can stall: while stalled it
// keeps reading what clients send but forwards nothing either way, and when the stall
// ends it delivers everything it held, in order, even for connections the client has
// given up on meanwhile. That is what a paused Redis (or a congested network) does to a
// client: a command that timed out on the client side still runs later.
type Staller struct {
	ln    net.Listener
	mu    sync.Mutex
	until time.Time
	wake  chan struct{} // closed and replaced when a stall is set or ends
	conns []net.Conn
	wg    sync.WaitGroup
}

// Stall starts a proxy to the test Redis on a loopback port and stops it when the test
// ends.
func Stall(t testing.TB) *Staller {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Staller{ln: ln, wake: make(chan struct{})}
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.For(0)
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// Addr is the proxy's host:port.
func (s *Staller) Addr() string { return s.ln.Addr().String() }

// For stalls the proxy for d from now (0 ends a stall at once).
func (s *Staller) For(d time.Duration) {
	s.mu.Lock()
	s.until = time.Now().Add(d)
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// gate waits until no stall is in force.
func (s *Staller) gate() {
	for {
		s.mu.Lock()
		left, wake := time.Until(s.until), s.wake
		s.mu.Unlock()
		if left <= 0 {
			return
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
		case <-wake:
			t.Stop()
		}
	}
}

func (s *Staller) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		r, err := net.Dial("tcp", Addr())
		if err != nil {
			c.Close()
			continue
		}
		s.mu.Lock()
		s.conns = append(s.conns, c, r)
		s.mu.Unlock()
		s.wg.Add(2)
		go s.pump(r, c)
		go s.pump(c, r)
	}
}

// pump copies src to dst through the gate; at src's end it closes dst once the gate lets
// the held data through.
func (s *Staller) pump(dst, src net.Conn) {
	defer s.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			s.gate()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				src.Close()
			}
			s.gate()
			dst.Close()
			return
		}
	}
}
