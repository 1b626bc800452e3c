package graph

import (
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
)

// boundedTransport sends requests with the client's http.Client and bounds each
// response body: azcore downloads every error body whole, so the bound must sit
// below the pipeline. A body past max fails its read with *http.MaxBytesError.
type boundedTransport struct {
	hc  *http.Client
	max int64
}

// Do implements policy.Transporter.
func (t boundedTransport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = http.MaxBytesReader(nil, resp.Body, t.max)
	return resp, nil
}

// usedConn records the connection a request went out on.
type usedConn struct {
	mu   sync.Mutex
	conn net.Conn
}

func (u *usedConn) trace() *httptrace.ClientTrace {
	// GotConn may run on the HTTP/2 transport's goroutine, hence the lock.
	return &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		u.mu.Lock()
		u.conn = info.Conn
		u.mu.Unlock()
	}}
}

func (u *usedConn) close() {
	u.mu.Lock()
	conn := u.conn
	u.mu.Unlock()
	if conn != nil {
		_ = conn.Close() // the connection is given up on; how it ends does not matter
	}
}
