package graphsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// Paging is keyset paging: a skip token carries the sort key of the last item served
// (not an offset), so items that change between pages are neither skipped twice nor
// served twice, and the token binds the query it was issued for. The token is JSON,
// HMAC-signed with a key only this Sim knows and base64url-encoded: opaque to clients,
// which cannot forge or edit it.

// pageToken is the state behind a $skiptoken.
type pageToken struct {
	Query  string       `json:"q"` // digest of the path and every option but $skiptoken
	AsOf   int64        `json:"t"` // the first page's clock, so the default window holds still
	Source indexKind    `json:"s,omitempty"`
	Keys   []tokenValue `json:"k"`
	ID     string       `json:"i"`
}

type tokenValue struct {
	Null bool   `json:"z,omitempty"`
	N    int64  `json:"n,omitempty"`
	S    string `json:"s,omitempty"`
}

func toTokenValue(v value) tokenValue { return tokenValue{Null: v.null, N: v.n, S: v.s} }

func (t tokenValue) value(typ edmType) value { return value{t: typ, null: t.Null, n: t.N, s: t.S} }

// queryDigest identifies a listing: the path plus its options except $skiptoken.
func queryDigest(path, rawQuery string) string {
	h := sha256.New()
	h.Write([]byte(path))
	for _, part := range withoutSkipToken(rawQuery) {
		h.Write([]byte{0})
		h.Write([]byte(part))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// withoutSkipToken returns the raw query's parts other than $skiptoken, sorted.
func withoutSkipToken(rawQuery string) []string {
	var parts []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" || isSkipTokenPart(part) {
			continue
		}
		parts = append(parts, part)
	}
	slices.Sort(parts)
	return parts
}

func isSkipTokenPart(part string) bool {
	k, _, _ := strings.Cut(part, "=")
	k, err := url.QueryUnescape(k)
	return err == nil && strings.EqualFold(k, "$skiptoken")
}

func (s *Sim) encodeToken(t *pageToken) string {
	payload, _ := json.Marshal(t)
	mac := hmac.New(sha256.New, s.tokenKey[:])
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(append(payload, mac.Sum(nil)[:16]...))
}

// decodeToken verifies a skip token against the listing it is presented with.
func (s *Sim) decodeToken(raw, digest string) (*pageToken, *apiError) {
	bad := errBadRequest("The $skiptoken is invalid or does not belong to this query; follow @odata.nextLink as returned.")
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) < 17 {
		return nil, bad
	}
	payload, sum := b[:len(b)-16], b[len(b)-16:]
	mac := hmac.New(sha256.New, s.tokenKey[:])
	mac.Write(payload)
	if !hmac.Equal(sum, mac.Sum(nil)[:16]) {
		return nil, bad
	}
	var t pageToken
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&t); err != nil || t.Query != digest {
		return nil, bad
	}
	return &t, nil
}

// nextLink is the absolute URL of the page after tok: the request's own URL with its
// options as sent and the new $skiptoken.
func (x *exchange) nextLink(s *Sim, tok *pageToken) string {
	parts := withoutSkipTokenOrdered(x.r.URL.RawQuery)
	parts = append(parts, "$skiptoken="+s.encodeToken(tok))
	scheme := "http"
	if x.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + x.r.Host + x.r.URL.EscapedPath() + "?" + strings.Join(parts, "&")
}

func withoutSkipTokenOrdered(rawQuery string) []string {
	var parts []string
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part != "" && !isSkipTokenPart(part) {
			parts = append(parts, part)
		}
	}
	return parts
}

// ordering is a total order over T: the keys, then the id.
type ordering[T any] struct {
	keys []orderKey[T]
	id   func(T) string
}

func (o ordering[T]) compare(a, b T) int {
	for _, k := range o.keys {
		c := compare(k.get(a), k.get(b))
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(o.id(a), o.id(b))
}

// afterCursor reports whether x sorts after the position tok records.
func (o ordering[T]) afterCursor(x T, tok *pageToken) bool {
	for i, k := range o.keys {
		v := k.get(x)
		c := compare(v, tok.Keys[i].value(v.t))
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c > 0
		}
	}
	return o.id(x) > tok.ID
}

// cursorAt returns a token positioned at x.
func (o ordering[T]) cursorAt(x T, base pageToken) *pageToken {
	t := base
	t.Keys = make([]tokenValue, len(o.keys))
	for i, k := range o.keys {
		t.Keys[i] = toTokenValue(k.get(x))
	}
	t.ID = o.id(x)
	return &t
}

// sortedPage sorts matches (in place) and returns the page after tok (nil: the first
// page) and whether the page is full. A full page gets a nextLink even when nothing
// follows, so the last page may be empty, as Graph's may.
func sortedPage[T any](matches []T, o ordering[T], tok *pageToken, size int) ([]T, bool) {
	slices.SortFunc(matches, o.compare)
	start := 0
	if tok != nil {
		start, _ = slices.BinarySearchFunc(matches, tok, func(x T, t *pageToken) int {
			if o.afterCursor(x, t) {
				return 1
			}
			return -1
		})
	}
	end := min(start+size, len(matches))
	return matches[start:end], end-start == size
}
