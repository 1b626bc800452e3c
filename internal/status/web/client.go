package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"

	"github.com/lcwnotify/lcwnotify/internal/status"
)

// Client calls the API of a running lcwnotify, for the operator commands when NATS is
// the process's embedded server (whose store only that process may write).
type Client struct {
	base  string
	token string
	hc    *http.Client

	mu   sync.Mutex
	csrf string
}

// NewClient returns a client of the server at base (http://127.0.0.1:9090) that
// authenticates with token, LCW_UI_TOKEN; without one it asks the server for a session
// and its CSRF token, which a loopback server without a token hands out. hc may be nil.
func NewClient(base, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	c := *hc
	if c.Jar == nil {
		c.Jar, _ = cookiejar.New(nil)
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, hc: &c}
}

// Status returns the report with the failures f selects.
func (c *Client) Status(ctx context.Context, f status.Filter) (*status.Report, error) {
	var rep status.Report
	if err := c.get(ctx, "/api/status?"+f.Values().Encode(), &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// DeadLetters returns the dead letters, newest first.
func (c *Client) DeadLetters(ctx context.Context) ([]status.DeadLetter, error) {
	var dls []status.DeadLetter
	err := c.get(ctx, "/api/dlq", &dls)
	return dls, err
}

// ReplayDeadLetters replays the dead letters named ids, or all.
func (c *Client) ReplayDeadLetters(ctx context.Context, ids []string, all bool, progress func(done, total int)) ([]status.ReplayOutcome, error) {
	var out []status.ReplayOutcome
	err := c.stream(ctx, "/api/dlq/replay", DeadLetterReplay{IDs: ids, All: all}, &out, progress)
	return out, err
}

// ReplayPeriod replays, or with p.DryRun lists, the failures of a period to p.To.
func (c *Client) ReplayPeriod(ctx context.Context, p status.PeriodReplay, progress func(done, total int)) (*status.PeriodResult, error) {
	var res status.PeriodResult
	if err := c.stream(ctx, "/api/replay", p, &res, progress); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) do(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach lcwnotify at %s: %w", c.base, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.TrimSpace(string(b))
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return nil, fmt.Errorf("lcwnotify at %s refused the request (%s): %s; set LCW_UI_TOKEN to the running process's token", c.base, resp.Status, msg)
		}
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("lcwnotify at %s has no status API (%s): start it with LCW_UI=true", c.base, resp.Status)
		}
		return nil, fmt.Errorf("lcwnotify at %s: %s: %s", c.base, resp.Status, msg)
	}
	return resp, nil
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("read lcwnotify's answer: %w", err)
	}
	return nil
}

// session returns the CSRF token of this client's session, asking for one the first
// time. With the bearer token none is needed.
func (c *Client) session(ctx context.Context) (string, error) {
	if c.token != "" {
		return "", nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.csrf != "" {
		return c.csrf, nil
	}
	var s Session
	if err := c.get(ctx, "/api/session", &s); err != nil {
		return "", err
	}
	c.csrf = s.CSRF
	return c.csrf, nil
}

// stream posts body and reads the NDJSON answer: progress lines, then the result.
func (c *Client) stream(ctx context.Context, path string, body, result any, progress func(done, total int)) error {
	csrf, err := c.session(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set(csrfHeader, csrf)
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var l struct {
			Progress *Progress       `json:"progress"`
			Result   json.RawMessage `json:"result"`
			Error    string          `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("read lcwnotify's answer: %w", err)
		}
		switch {
		case l.Error != "":
			return errors.New(l.Error)
		case l.Progress != nil:
			if progress != nil {
				progress(l.Progress.Done, l.Progress.Total)
			}
		case l.Result != nil:
			return json.Unmarshal(l.Result, result)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read lcwnotify's answer: %w", err)
	}
	return errors.New("lcwnotify ended its answer before the result: see its log")
}
