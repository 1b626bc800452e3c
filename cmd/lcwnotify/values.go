package main

// Converters and checks for single values: each records a problem naming the variable
// and saying what is expected, and never quotes a secret.

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/outbound"
	"github.com/nats-io/nkeys"
)

// list splits a comma-separated value, trims each entry, and drops empty and repeated
// entries: envconfig's own []string keeps " b" and "".
func list(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func duration(p *problems, name, v string, lo, hi time.Duration) time.Duration {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		p.add(name, "%q is not a duration: use a number with a unit, such as 90s, 5m or 1h", v)
	case d < lo || d > hi:
		p.add(name, "%s is out of range: use %s to %s", v, fmtDuration(lo), fmtDuration(hi))
	}
	return d
}

func fmtDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func integer(p *problems, name, v string, lo, hi int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.add(name, "%q: use a whole number from %d to %d", v, lo, hi)
	}
	return n
}

func boolean(p *problems, name, v string) bool {
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.add(name, "%q: use true or false", v)
	}
	return b
}

// byteSize parses 1048576, 64MiB, 64M, 1GiB, 1G (binary multiples, as nats-server does).
func byteSize(p *problems, name, v string, lo int64) int64 {
	num := strings.TrimRight(v, "KkMmGgTtIiBb")
	unit := strings.ToLower(v[len(num):])
	mult := map[string]int64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || mult == 0 || n < 0 || n > (1<<62)/mult {
		p.add(name, "%q is not a size: use bytes or a number with KiB, MiB, GiB or TiB, such as 512MiB", v)
		return 0
	}
	if n*mult < lo {
		p.add(name, "%s is too small: use at least %d MiB", v, lo>>20)
	}
	return n * mult
}

// httpsURL parses an absolute URL that must be https, or http on a loopback host (tests,
// simulators, local proxies). A URL that may hold a credential is never quoted back.
func httpsURL(p *problems, name, v string, isSecret bool) (*url.URL, bool) {
	quoted := fmt.Sprintf("%q", v)
	if isSecret {
		quoted = "the value"
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		p.add(name, "%s is not an absolute URL: want https://host/…", quoted)
		return nil, false
	case u.User != nil:
		p.add(name, "%s carries user information: put credentials in their own settings", quoted)
		return nil, false
	case u.Scheme == "http" && !outbound.IsLoopback(u.Hostname()):
		p.add(name, "%s must use https (http is accepted for localhost only)", quoted)
		return nil, false
	}
	return u, true
}

func secretURL(p *problems, name, v string) {
	httpsURL(p, name, v, true)
}

func hostPort(p *problems, name, v string) {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		p.add(name, "%q: want host:port or :port, such as :9090 or 127.0.0.1:9090", v)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add(name, "%q: the port must be a number from 0 to 65535", v)
	}
}

func readableFile(p *problems, name, path string) ([]byte, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		p.add(name, "cannot read %s: %v", path, errorsCause(err))
		return nil, false
	}
	return b, true
}

// credsLack names what a NATS credentials file lacks ("user JWT", "user seed"), or
// returns "" for a well-formed one. It says nothing of the content: the seed is secret.
func credsLack(b []byte) string {
	tok, err := nkeys.ParseDecoratedJWT(b)
	tok = strings.TrimSpace(tok)
	if err != nil || tok == "" || strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \t\r\n") {
		return "user JWT"
	}
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		return "user seed"
	}
	kp.Wipe() // as nats.go does with the keys it reads
	return ""
}

// errorsCause drops the path *os.PathError repeats.
func errorsCause(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// isGraphID reports whether id can be put in a Graph URL path and a NATS subject token
// as is: Graph ids are GUIDs or composites of them joined with '_'.
func isGraphID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// defaultInstanceName is the host name, made safe for NATS names and KV values.
func defaultInstanceName(hostname func() (string, error)) string {
	h, err := hostname()
	if err != nil || h == "" {
		return defaultInstance
	}
	var b strings.Builder
	for _, r := range h {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
