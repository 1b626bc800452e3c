package graphsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
)

// Serve serves the simulator over plain HTTP on addr, which must be a loopback address
// ("127.0.0.1:0" picks a free port; an empty host means 127.0.0.1). It returns the
// root URL to configure as the Graph URL (e.g. "http://127.0.0.1:41234") and a function
// that stops the server, waiting briefly for requests in flight.
func (s *Sim) Serve(addr string) (url string, stop func() error, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("graphsim: serve: %w", err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if !outbound.IsLoopback(host) {
		return "", nil, fmt.Errorf("graphsim: serve: %q is not a loopback address", host)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return "", nil, fmt.Errorf("graphsim: serve: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		return err
	}
	return "http://" + ln.Addr().String(), stop, nil
}
