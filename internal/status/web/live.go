package web

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// heartbeat keeps a quiet live connection from being closed by proxies.
const heartbeat = 20 * time.Second

// liveUpdates streams the page's changing parts as Server-Sent Events: an "update"
// event whose data is the rendered HTML of those parts (escaped by html/template like
// the page), sent when it differs from the last one sent. The page's script swaps them
// in; without the script the page is a plain page with a refresh link.
func (h *Handler) liveUpdates(w http.ResponseWriter, r *http.Request) {
	id := h.g.check(r)
	if !id.ok {
		h.refuse(w, r)
		return
	}
	select {
	case <-h.stop:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	select {
	case h.live <- struct{}{}:
		defer func() { <-h.live }()
	default:
		http.Error(w, "too many live pages open; reload later", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // as long as the page stays open
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Tell the browser how long to wait before reconnecting after a drop.
	fmt.Fprintf(w, "retry: %d\n\n", (5 * time.Second).Milliseconds())
	if rc.Flush() != nil {
		return
	}

	tick := time.NewTicker(h.o.LiveInterval)
	defer tick.Stop()
	var last [32]byte
	quiet := time.Now()
	first := true
	for {
		if !first {
			select {
			case <-r.Context().Done():
				return
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
		first = false
		v, err := h.view(r, id)
		if err != nil {
			return // the page went away
		}
		var b bytes.Buffer
		if err := h.tmpl.ExecuteTemplate(&b, "live", v); err != nil {
			h.log.Error("cannot render the live update", "error", err)
			return
		}
		sum := sha256.Sum256(b.Bytes())
		switch {
		case sum != last:
			last, quiet = sum, time.Now()
			writeEvent(w, "update", b.String())
		case time.Since(quiet) > heartbeat:
			quiet = time.Now()
			fmt.Fprint(w, ": still here\n\n")
		default:
			continue
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// writeEvent writes one event; every line of data gets its own data field, as the
// format requires.
func writeEvent(w http.ResponseWriter, name, data string) {
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: " + strings.TrimSuffix(line, "\r") + "\n")
	}
	b.WriteString("\n")
	_, _ = w.Write([]byte(b.String()))
}
