package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// list fetches every page of a collection, starting at first and following
// @odata.nextLink until it is absent. Either every page decoded or an error is
// returned: never a partial list.
func list[T any](ctx context.Context, c *Client, op, first string, decode decodeFunc[T]) ([]T, error) {
	var out []T
	seen := map[string]bool{first: true}
	for next, pages := first, 0; next != ""; pages++ {
		if pages == c.maxPages {
			return nil, fmt.Errorf("%w: graph %s: more than %d pages", ErrForeignNextLink, op, c.maxPages)
		}
		body, err := c.get(ctx, op, next)
		if err != nil {
			return nil, err
		}
		p, err := decodePage(body)
		if err != nil {
			return nil, fmt.Errorf("graph %s: page %d: %w", op, pages+1, err)
		}
		out = appendItems(ctx, c, op, out, p.items, decode)
		next = p.nextLink
		if next == "" {
			break
		}
		if err := c.checkNextLink(next); err != nil {
			return nil, fmt.Errorf("graph %s: %w", op, err)
		}
		if seen[next] {
			return nil, fmt.Errorf("%w: graph %s: a nextLink repeats an earlier page (a paging loop)", ErrForeignNextLink, op)
		}
		seen[next] = true
	}
	return out, nil
}

// appendItems decodes items onto out, skipping and counting the unusable ones.
func appendItems[T any](ctx context.Context, c *Client, op string, out []T, items []json.RawMessage, decode decodeFunc[T]) []T {
	if out == nil {
		out = make([]T, 0, len(items))
	}
	for i, raw := range items {
		var d itemDecoder
		v, why := decode(raw, &d)
		if why != "" {
			c.metrics.addMalformed(op)
			c.log.WarnContext(ctx, "graph item skipped", "operation", op, "index", i, "id", d.id, "reason", string(why))
			continue
		}
		c.logRepairs(ctx, op, &d)
		out = append(out, v)
	}
	return out
}

// one fetches a single object.
func one[T any](ctx context.Context, c *Client, op, rawURL string, decode decodeFunc[T]) (T, error) {
	var zero T
	body, err := c.get(ctx, op, rawURL)
	if err != nil {
		return zero, err
	}
	raw, err := compactJSON(body)
	if err != nil {
		return zero, fmt.Errorf("graph %s: %w", op, err)
	}
	var d itemDecoder
	v, why := decode(raw, &d)
	if why != "" {
		c.metrics.addMalformed(op)
		return zero, fmt.Errorf("%w: graph %s: %s", ErrMalformedResponse, op, why)
	}
	c.logRepairs(ctx, op, &d)
	return v, nil
}

func (c *Client) logRepairs(ctx context.Context, op string, d *itemDecoder) {
	if len(d.warns) == 0 {
		return
	}
	args := []any{"operation", op, "id", d.id}
	for _, w := range d.warns {
		args = append(args, w)
	}
	c.log.WarnContext(ctx, "graph item has unusable properties, zeroed", args...)
}

// checkNextLink refuses a nextLink that would take the token anywhere but the
// configured Graph root: another scheme, host or port, credentials in the URL.
func (c *Client) checkNextLink(link string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("%w: unparsable", ErrForeignNextLink)
	}
	if !u.IsAbs() || u.User != nil || !strings.EqualFold(u.Scheme, c.base.Scheme) ||
		hostPort(u) != hostPort(c.base) {
		return fmt.Errorf("%w: %s://%s is not the configured Graph root %s://%s",
			ErrForeignNextLink, u.Scheme, u.Host, c.base.Scheme, c.base.Host)
	}
	return nil
}

// hostPort returns u's lower-cased host and port, the scheme's default port filled in.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
