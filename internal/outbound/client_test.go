package outbound_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/httpfake"
	"github.com/lcwnotify/lcwnotify/internal/outbound"
)

const secret = "tok-S3CR3T"

// server starts h on loopback and returns it with a base transport that counts.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *httpfake.Counting) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, &httpfake.Counting{Base: srv.Client().Transport}
}

func post(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{"id":"e1"}`))
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

func TestPlainHTTPRefusedBeforeSending(t *testing.T) {
	var got atomic.Int64
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { got.Add(1) })
	tests := []struct {
		name      string
		allowHTTP bool
		want      error
		requests  int64
	}{
		{"refused", false, outbound.ErrPlainHTTP, 0},
		{"allowed", true, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got.Store(0)
			base := &httpfake.Counting{Base: httpfake.DialTo(srv.Listener.Addr().String())}
			c := outbound.NewClient(outbound.Options{AllowHTTP: tc.allowHTTP, Transport: base})
			resp, err := post(t, c, "http://hooks.example/lcw?token="+secret)
			if resp != nil {
				resp.Body.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("post = %v, want %v", err, tc.want)
			}
			if n := base.Requests(); n != tc.requests || got.Load() != tc.requests {
				t.Errorf("%d requests sent, %d received; want %d", n, got.Load(), tc.requests)
			}
			if err != nil && strings.Contains(errors.Unwrap(err).Error(), secret) {
				t.Errorf("the client's own error %q quotes the URL", errors.Unwrap(err))
			}
		})
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var other atomic.Int64
	elsewhere, _ := server(t, func(w http.ResponseWriter, r *http.Request) { other.Add(1) })
	tests := []struct {
		name   string
		status int
		to     string
	}{
		{"307 to another host", http.StatusTemporaryRedirect, elsewhere.URL + "/steal"},
		{"308 to another host", http.StatusPermanentRedirect, elsewhere.URL + "/steal"},
		{"302 on the same host (a POST would become a GET)", http.StatusFound, "/moved"},
		{"303 on the same host", http.StatusSeeOther, "/moved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var here atomic.Int64
			srv, base := server(t, func(w http.ResponseWriter, r *http.Request) {
				here.Add(1)
				http.Redirect(w, r, tc.to, tc.status)
			})
			other.Store(0)
			resp, err := post(t, outbound.NewClient(outbound.Options{Transport: base}), srv.URL+"/hook?token="+secret)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want the redirect itself, %d", resp.StatusCode, tc.status)
			}
			if here.Load() != 1 || other.Load() != 0 {
				t.Errorf("%d requests to the destination and %d to the redirect's target, want 1 and 0", here.Load(), other.Load())
			}
		})
	}
}

func TestResponseBodyIsBounded(t *testing.T) {
	const limit = 4096
	chunk := bytes.Repeat([]byte("x"), 1024)
	tests := []struct {
		name    string
		size    int // -1: never ends
		wantErr error
		wantLen int
	}{
		{"small", 200, nil, 200},
		{"exactly the limit", limit, nil, limit},
		{"one byte over", limit + 1, outbound.ErrBodyTooLarge, limit},
		{"huge", 64 << 20, outbound.ErrBodyTooLarge, limit},
		{"never ending", -1, outbound.ErrBodyTooLarge, limit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := server(t, func(w http.ResponseWriter, r *http.Request) {
				for sent := 0; tc.size < 0 || sent < tc.size; {
					n := len(chunk)
					if tc.size >= 0 {
						n = min(n, tc.size-sent)
					}
					if _, err := w.Write(chunk[:n]); err != nil {
						return // the client hung up
					}
					sent += n
				}
			})
			c := outbound.NewClient(outbound.Options{MaxBody: limit, Transport: base})
			resp, err := post(t, c, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("reading the body: %v, want %v", err, tc.wantErr)
			}
			if len(body) != tc.wantLen {
				t.Errorf("read %d bytes, want %d", len(body), tc.wantLen)
			}
			resp.Body.Close()
			// What came off the network: the allowance, one byte to tell it was
			// exceeded, and whatever the transport buffered (its reads are 4 KiB at most
			// beyond what was asked for).
			if got, most := base.BodyBytes(), int64(limit+1+4096); got > most {
				t.Errorf("%d body bytes read from the connection, want at most %d", got, most)
			}
		})
	}
}

// TestCloseDrainsWithinTheLimit: a caller that reads a snippet and closes lets the
// connection be reused when the rest of the answer is small.
func TestCloseDrainsWithinTheLimit(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("refused ", 500))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := outbound.NewClient(outbound.Options{Transport: srv.Client().Transport})
	for range 3 {
		resp, err := post(t, c, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		snippet := make([]byte, 20)
		if _, err := io.ReadFull(resp.Body, snippet); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 3 requests, want 1 (the drained connection reused)", n)
	}
}

func TestSlowReceiverTimesOut(t *testing.T) {
	// release ends the handlers when the test does, whatever the client did.
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"never answers", httpfake.Stall(release)},
		{"trickles its answer", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			for {
				if _, err := w.Write([]byte("x")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-release:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, base := server(t, tc.h)
			c := outbound.NewClient(outbound.Options{Timeout: 100 * time.Millisecond, MaxBody: 1 << 20, Transport: base})
			resp, err := post(t, c, srv.URL+"/?token="+secret)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("got %v, want a timeout", err)
			}
		})
	}
}
