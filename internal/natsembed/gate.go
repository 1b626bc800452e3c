package natsembed

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// gate checks the subscriber requests that create or delete a consumer or list
// streams, passes on those it allows and relays the answer (a list of streams cut down
// to the subscribers' one). Subject permissions cannot do this alone: they
// match whole tokens, so they cannot tell lcwnotify's consumers (named by a prefix)
// from a subscriber's, and they never see a request's body, where a push consumer names
// the subject the server will deliver to — a push consumer delivering into
// $KV.<bucket>.<key> would overwrite lcwnotify's state.
//
// Pull requests and acknowledgements do not pass here: the server lets no client
// publish a message whose reply subject is an acknowledgement subject, which relaying
// a pulled message would need. Subject permissions keep those off lcwnotify's
// consumers instead (Subscribers.ReservedConsumers).
type gate struct {
	nc       *nats.Conn
	stream   string
	reserved string // consumer names starting with it are lcwnotify's; "" reserves none
	log      *slog.Logger
}

// errRefused wraps every reason the gate gives a subscriber.
var errRefused = errors.New("refused by lcwnotify's embedded NATS server")

// startGate subscribes the gate on nc, an in-process connection of lcwnotify's account.
// The subscriptions end when nc is closed.
func startGate(nc *nats.Conn, sub Subscribers, log *slog.Logger) error {
	g := &gate{nc: nc, stream: sub.Stream, reserved: sub.ReservedConsumerPrefix, log: log}
	for _, r := range subscriberRoutes(sub.Stream) {
		if !r.gated {
			continue
		}
		if _, err := nc.Subscribe(gateSubject(r.subject), g.handle); err != nil {
			return fmt.Errorf("natsembed: gate %s: %w", r.subject, err)
		}
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("natsembed: gate: %w", err)
	}
	return nil
}

func (g *gate) handle(m *nats.Msg) {
	subject := realSubject(m.Subject)
	if err := g.check(subject, m.Data); err != nil {
		g.refuse(m, subject, err)
		return
	}
	resp, err := g.nc.RequestMsg(forward(subject, m), gateTimeout)
	var out []byte
	if err == nil {
		out = resp.Data
		if subject == "$JS.API.STREAM.NAMES" || subject == "$JS.API.STREAM.LIST" {
			out, err = onlyStream(resp.Data, g.stream)
		}
	}
	if err != nil {
		g.log.Warn("cannot pass on a subscriber's request", "subject", subject, "err", err)
		out = apiError(503, "JetStream did not answer")
	}
	if m.Reply == "" {
		return
	}
	if err := m.Respond(out); err != nil {
		g.log.Warn("cannot answer a subscriber's request", "subject", subject, "err", err)
	}
}

// gateTimeout bounds how long the gate waits for JetStream to answer a request it
// passed on; the client's own timeout is usually 5 s.
const gateTimeout = 4 * time.Second

// forward is m's body and headers addressed to subject, without the client information
// the server added when m crossed accounts: the JetStream API reads the account from
// it, and would answer for the subscribers' account, which has no JetStream.
func forward(subject string, m *nats.Msg) *nats.Msg {
	out := nats.NewMsg(subject)
	out.Data = m.Data
	for k, v := range m.Header {
		if k != server.ClientInfoHdr {
			out.Header[k] = v
		}
	}
	return out
}

// check returns why the request on subject with body data is refused, or nil.
func (g *gate) check(subject string, data []byte) error {
	s := g.stream
	if subject == "$JS.API.STREAM.NAMES" || subject == "$JS.API.STREAM.LIST" {
		return nil
	}
	if name, ok := strings.CutPrefix(subject, "$JS.API.CONSUMER.DELETE."+s+"."); ok {
		return g.consumerName(name)
	}
	if name, ok := strings.CutPrefix(subject, "$JS.API.CONSUMER.DURABLE.CREATE."+s+"."); ok {
		return errors.Join(g.consumerName(name), g.consumerConfig(data))
	}
	if subject == "$JS.API.CONSUMER.CREATE."+s {
		return g.consumerConfig(data)
	}
	if rest, ok := strings.CutPrefix(subject, "$JS.API.CONSUMER.CREATE."+s+"."); ok {
		name, _, _ := strings.Cut(rest, ".") // <name>[.<filter subject>]
		return errors.Join(g.consumerName(name), g.consumerConfig(data))
	}
	// The gate subscribes to the gated routes only; anything else is a bug here.
	return fmt.Errorf("%w: %s is not handled", errRefused, subject)
}

func (g *gate) consumerName(name string) error {
	if g.reserved != "" && strings.HasPrefix(name, g.reserved) {
		return fmt.Errorf("%w: consumer %q: names starting with %q belong to lcwnotify's own notifiers; choose another name",
			errRefused, name, g.reserved)
	}
	return nil
}

// consumerConfig refuses a consumer the subscriber may not create: a push consumer
// (the server would deliver to any subject it names, in lcwnotify's account), or one
// named as lcwnotify's. A body that does not parse is refused rather than passed on:
// the server decodes successive JSON values into one request, so what fails here might
// mean something else there.
func (g *gate) consumerConfig(data []byte) error {
	var req struct {
		Config struct {
			Name           string `json:"name"`
			Durable        string `json:"durable_name"`
			DeliverSubject string `json:"deliver_subject"`
		} `json:"config"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return fmt.Errorf("%w: malformed consumer request: %v", errRefused, err)
	}
	if req.Config.DeliverSubject != "" {
		return fmt.Errorf("%w: push consumers are not available to subscribers: create a pull consumer (no deliver subject)", errRefused)
	}
	return errors.Join(g.consumerName(req.Config.Name), g.consumerName(req.Config.Durable))
}

// refuse answers a refused request with a JetStream API error, which clients report
// with its description.
func (g *gate) refuse(m *nats.Msg, subject string, err error) {
	g.log.Warn("refused a request from a client of the embedded NATS server", "subject", subject, "reason", err.Error())
	if m.Reply == "" {
		return
	}
	if err := m.Respond(apiError(403, err.Error())); err != nil {
		g.log.Warn("cannot answer a subscriber's request", "subject", subject, "err", err)
	}
}

// onlyStream rewrites a response listing streams (their names, or their info) to hold
// stream only, if the server listed it: the buckets' streams are none of a
// subscriber's business.
func onlyStream(data []byte, stream string) ([]byte, error) {
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("stream list response: %w", err)
	}
	var items []json.RawMessage
	if raw, ok := resp["streams"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("stream list response: %w", err)
		}
	}
	kept := []json.RawMessage{}
	for _, it := range items {
		var name string
		if json.Unmarshal(it, &name) != nil {
			var info struct {
				Config struct {
					Name string `json:"name"`
				} `json:"config"`
			}
			_ = json.Unmarshal(it, &info)
			name = info.Config.Name
		}
		if name == stream {
			kept = append(kept, it)
		}
	}
	resp["streams"], _ = json.Marshal(kept)
	resp["total"], _ = json.Marshal(len(kept))
	return json.Marshal(resp)
}

// apiError is a JetStream API error response.
func apiError(code int, description string) []byte {
	b, _ := json.Marshal(map[string]any{
		"type":  "io.nats.jetstream.api.v1.error_response",
		"error": map[string]any{"code": code, "description": description},
	})
	return b
}
