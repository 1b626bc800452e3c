package slacktest

// Socket Mode: apps.connections.open hands out a one-time ws:// URL of the fake's
// websocket endpoint; a client that connects gets "hello", WebSocket pings (slack-go's
// client reconnects when they stop), and whatever envelopes the test sends, and the
// fake records the acknowledgements it sends back.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// socketPing is how often the fake pings a Socket Mode client; slack-go's client gives
// up on a connection after 30 s without one.
const socketPing = 2 * time.Second

// SocketAck is an acknowledgement a Socket Mode client sent for an envelope.
type SocketAck struct {
	EnvelopeID string
	// Payload is the acknowledgement's payload, nil when it had none.
	Payload  json.RawMessage
	Received time.Time
}

// socketState is what the fake knows of Socket Mode. Guarded by interactive.mu.
type socketState struct {
	tickets map[string]bool
	conns   []*socketConn
	next    int
	acks    map[string][]SocketAck
	sent    map[string]json.RawMessage // envelope id → payload, for Redeliver
	retries map[string]int
}

func (st *socketState) init() {
	st.tickets = map[string]bool{}
	st.acks = map[string][]SocketAck{}
	st.sent = map[string]json.RawMessage{}
	st.retries = map[string]int{}
}

// socketConn is one client's websocket. Writes other than control frames are
// serialized, as gorilla/websocket requires.
type socketConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
	// draining: told to reconnect; sent nothing more, as Slack does. Guarded by
	// interactive.mu.
	draining bool
}

func (c *socketConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

// connectionsOpen serves apps.connections.open: with the app-level token, a one-time
// URL of the websocket endpoint.
func (ix *interactive) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	ix.s.count(false)
	if f, ok := ix.openFaults.Take(); ok && applyFault(w, f, false) {
		return
	}
	switch tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); {
	case tok == "":
		slackError(w, "not_authed")
		return
	case strings.HasPrefix(tok, "xoxb-") || strings.HasPrefix(tok, "xoxp-"):
		slackError(w, "not_allowed_token_type")
		return
	case tok != FakeAppToken:
		slackError(w, "invalid_auth")
		return
	}
	ticket := randomString(24)
	ix.mu.Lock()
	ix.sockets.tickets[ticket] = true
	ix.mu.Unlock()
	url := "ws" + strings.TrimPrefix(ix.s.srv.URL, "http") + "/link/?ticket=" + ticket
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": url})
}

var upgrader = websocket.Upgrader{HandshakeTimeout: 5 * time.Second, CheckOrigin: func(*http.Request) bool { return true }}

// socket serves the websocket of a ticket apps.connections.open handed out.
func (ix *interactive) socket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	ix.mu.Lock()
	ok := ix.sockets.tickets[ticket]
	delete(ix.sockets.tickets, ticket)
	ix.mu.Unlock()
	if !ok {
		http.Error(w, "unknown or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	if err := c.write(map[string]any{"type": "hello", "num_connections": 1,
		"debug_info": map[string]any{"host": "fake-applink"}, "connection_info": map[string]any{"app_id": "A0FAKE000"}}); err != nil {
		_ = ws.Close()
		return
	}
	ix.mu.Lock()
	ix.sockets.conns = append(ix.sockets.conns, c)
	ix.notify()
	ix.mu.Unlock()
	go c.ping()
	ix.read(c)
}

// ping keeps the client's dead-connection timer from firing, as Slack's pings do.
func (c *socketConn) ping() {
	t := time.NewTicker(socketPing)
	defer t.Stop()
	for {
		if err := c.ws.WriteControl(websocket.PingMessage, []byte("fake"), time.Now().Add(5*time.Second)); err != nil {
			return
		}
		select {
		case <-c.done:
			return
		case <-t.C:
		}
	}
}

// read records the client's acknowledgements until the connection ends.
func (ix *interactive) read(c *socketConn) {
	defer func() {
		close(c.done)
		_ = c.ws.Close()
		ix.mu.Lock()
		ix.sockets.conns = slices.DeleteFunc(ix.sockets.conns, func(o *socketConn) bool { return o == c })
		ix.notify()
		ix.mu.Unlock()
	}()
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(b, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		ix.mu.Lock()
		ix.sockets.acks[ack.EnvelopeID] = append(ix.sockets.acks[ack.EnvelopeID], SocketAck{
			EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, Received: time.Now()})
		ix.notify()
		ix.mu.Unlock()
	}
}

// SocketConnections returns how many Socket Mode clients are connected, not counting
// those told to reconnect.
func (ix *interactive) SocketConnections() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.sockets.live())
}

// WaitSockets waits until at least n Socket Mode clients are connected.
func (ix *interactive) WaitSockets(ctx context.Context, n int) error {
	return ix.wait(ctx, func() bool { return len(ix.sockets.live()) >= n })
}

// live are the connections envelopes go to. interactive.mu must be held.
func (st *socketState) live() []*socketConn {
	var out []*socketConn
	for _, c := range st.conns {
		if !c.draining {
			out = append(out, c)
		}
	}
	return out
}

// pick returns the next live connection in turn, or nil. interactive.mu must be held.
func (st *socketState) pick() *socketConn {
	live := st.live()
	if len(live) == 0 {
		return nil
	}
	c := live[st.next%len(live)]
	st.next++
	return c
}

// ErrNoSocket reports that no Socket Mode client is connected to send an envelope to.
var ErrNoSocket = errors.New("slacktest: no Socket Mode client connected")

// SendInteractive sends an "interactive" envelope with payload (say, BlockActions'
// Payload) to the next connected Socket Mode client, in turn as Slack spreads
// envelopes over an app's connections, and returns the envelope's id.
func (ix *interactive) SendInteractive(payload []byte) (string, error) {
	id := strings.ToLower(randomString(8) + "-" + randomString(4) + "-" + randomString(12))
	ix.mu.Lock()
	ix.sockets.sent[id] = slices.Clone(payload)
	ix.mu.Unlock()
	return id, ix.sendEnvelope(id)
}

// Redeliver sends the envelope again, with the next retry_attempt, as Slack does when
// it saw no acknowledgement in time.
func (ix *interactive) Redeliver(envelopeID string) error { return ix.sendEnvelope(envelopeID) }

func (ix *interactive) sendEnvelope(id string) error {
	ix.mu.Lock()
	payload, known := ix.sockets.sent[id]
	attempt := ix.sockets.retries[id]
	ix.sockets.retries[id]++
	c := ix.sockets.pick()
	ix.mu.Unlock()
	switch {
	case !known:
		return errors.New("slacktest: unknown envelope " + id)
	case c == nil:
		return ErrNoSocket
	}
	reason := ""
	if attempt > 0 {
		reason = "timeout"
	}
	return c.write(map[string]any{"envelope_id": id, "type": "interactive", "payload": json.RawMessage(payload),
		"accepts_response_payload": false, "retry_attempt": attempt, "retry_reason": reason})
}

// SendRaw sends b as it is to the next connected client: for malformed envelopes.
func (ix *interactive) SendRaw(b []byte) error {
	ix.mu.Lock()
	c := ix.sockets.pick()
	ix.mu.Unlock()
	if c == nil {
		return ErrNoSocket
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// Acks returns the acknowledgements received for an envelope.
func (ix *interactive) Acks(envelopeID string) []SocketAck {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return slices.Clone(ix.sockets.acks[envelopeID])
}

// WaitAck waits for the first acknowledgement of an envelope.
func (ix *interactive) WaitAck(ctx context.Context, envelopeID string) (SocketAck, error) {
	err := ix.wait(ctx, func() bool { return len(ix.sockets.acks[envelopeID]) > 0 })
	if err != nil {
		return SocketAck{}, err
	}
	return ix.Acks(envelopeID)[0], nil
}

// DisconnectSockets asks every client to reconnect, as Slack does before it moves a
// connection ("disconnect", reason refresh_requested); nothing more is sent on those
// connections.
func (ix *interactive) DisconnectSockets() {
	cs := ix.conns()
	ix.mu.Lock()
	for _, c := range cs {
		c.draining = true
	}
	ix.notify()
	ix.mu.Unlock()
	for _, c := range cs {
		_ = c.write(map[string]any{"type": "disconnect", "reason": "refresh_requested",
			"debug_info": map[string]any{"host": "fake-applink"}})
	}
}

// CloseSockets drops every Socket Mode connection without a word, as a network
// failure would. Slack.Close does not end them: call it, or stop the clients.
func (ix *interactive) CloseSockets() {
	for _, c := range ix.conns() {
		_ = c.ws.Close()
	}
}

func (ix *interactive) conns() []*socketConn {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return slices.Clone(ix.sockets.conns)
}
