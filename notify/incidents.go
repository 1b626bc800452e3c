package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lcwnotify/lcwnotify/events"
)

// A sink's ledger remembers, beside what became of each event, the incidents that later
// events follow up: a user's failure of a workflow (until a later result of the same
// workflow for the same user completes), a workflow's quarantine (until it is released)
// and its disabling (until it is enabled). An incident is written once the notification
// that opens it was delivered, pointing at its message; a follow-up finds it in
// Notification.Follows, and once delivered, resolves it or records the action taken.

// role is what an event does to its incident.
type role int

const (
	roleNone   role = iota
	roleOpens       // a failure, a quarantine, a disabling
	roleCloses      // a completion, a release, an enabling
	roleActs        // an action's record
)

// topic is what a notification opens, closes or acts on.
type topic struct {
	name string // "" for none
	role role
}

// topicOf returns n's topic.
func topicOf(n *Notification) topic {
	switch {
	case n.Event != nil:
		r, err := n.Event.Data.Result()
		if err != nil {
			return topic{}
		}
		t := userTopic(n.Event.Data.Workflow.ID, r.Subject.ID)
		switch {
		case events.IsFailure(r.ProcessingStatus):
			return topic{t, roleOpens}
		case events.IsSuccess(r.ProcessingStatus):
			return topic{t, roleCloses}
		}
	case n.Workflow != nil:
		wf := n.Workflow.Data.Workflow.ID
		switch n.Workflow.Data.Change {
		case events.ChangeQuarantined:
			return topic{"quarantine/" + wf, roleOpens}
		case events.ChangeReleased:
			return topic{"quarantine/" + wf, roleCloses}
		case events.ChangeDisabled:
			return topic{"disabled/" + wf, roleOpens}
		case events.ChangeEnabled:
			return topic{"disabled/" + wf, roleCloses}
		}
	case n.Action != nil:
		if u := n.Action.Data.Target.User; u != nil && n.Action.Data.Target.ResultID != "" {
			return topic{userTopic(n.Action.Data.Workflow.ID, u.ID), roleActs}
		}
	}
	return topic{}
}

func userTopic(workflowID, subjectID string) string {
	return "user/" + workflowID + "/" + subjectID
}

func incidentKey(topic string) string { return hashKey("inc.", topic) }

// incident returns the incident of topic, nil when there is none.
func (l *ledger) incident(ctx context.Context, topic string) (*Incident, error) {
	inc, _, err := l.incidentRev(ctx, topic)
	return inc, err
}

// incidentRev returns the incident of topic and its entry's revision: nil and 0 when
// there is no entry, nil and the revision when the entry is not an incident of topic.
func (l *ledger) incidentRev(ctx context.Context, topic string) (*Incident, uint64, error) {
	e, err := l.kv.Get(ctx, incidentKey(topic))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read incident: %w", err)
	}
	var inc Incident
	if err := json.Unmarshal(e.Value(), &inc); err != nil || inc.Topic != topic {
		return nil, e.Revision(), nil // not ours to interpret: as if there were none
	}
	return &inc, e.Revision(), nil
}

// openingMaxAge bounds how long a follow-up waits for an opening whose delivery began
// and was never settled (its event gone from the stream, say). A delivery that is
// retried marks the topic again at every attempt, so this only has to outlast a wait
// in a paced queue.
const openingMaxAge = 6 * time.Hour

// markOpening records, on topic's entry, that n is being delivered to open it, unless
// the topic's incident is open already (n is then a follow-up of it). It reports
// whether it marked; a ledger that cannot be written leaves the topic unmarked (a
// closing follow-up that comes meanwhile is then not told, as without the mark).
func (l *ledger) markOpening(ctx context.Context, topic string, id string, n *Notification) bool {
	mark := &Opening{EventID: id, Seq: n.Seq, Time: n.Time(), At: time.Now().UTC()}
	// Most failures are a topic's first: one write, no read.
	b, err := json.Marshal(&Incident{Topic: topic, Opening: mark})
	if err != nil {
		return false
	}
	if _, err := l.kv.Create(ctx, incidentKey(topic), b); err == nil {
		return true
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return false
	}
	for range 3 {
		inc, rev, err := l.incidentRev(ctx, topic)
		if err != nil {
			return false
		}
		if inc != nil && inc.State == IncidentOpen {
			return false
		}
		next := &Incident{Topic: topic}
		if inc != nil {
			next = inc
		}
		next.Opening = mark
		b, err := json.Marshal(next)
		if err != nil {
			return false
		}
		if rev == 0 {
			_, err = l.kv.Create(ctx, incidentKey(topic), b)
		} else {
			_, err = l.kv.Update(ctx, incidentKey(topic), b, rev)
		}
		if err == nil {
			return true
		}
		// Another writer came first: look again.
	}
	return false
}

// unmarkOpening takes id's mark off topic's entry, once its delivery is settled one way
// or another; a settled delivery that opened the incident has replaced the entry
// already. An entry that held only the mark goes.
func (l *ledger) unmarkOpening(ctx context.Context, topic string, id string) {
	for range 3 {
		inc, rev, err := l.incidentRev(ctx, topic)
		if err != nil || inc == nil || inc.Opening == nil || inc.Opening.EventID != id {
			return
		}
		if inc.State == "" {
			err = l.kv.Delete(ctx, incidentKey(topic), jetstream.LastRevision(rev))
		} else {
			inc.Opening = nil
			var b []byte
			if b, err = json.Marshal(inc); err == nil {
				_, err = l.kv.Update(ctx, incidentKey(topic), b, rev)
			}
		}
		if err == nil {
			return
		}
	}
}

// opensFirst reports whether the opening o came before the notification n: by their
// stream sequences where both are known, else by their events' times.
func opensFirst(o *Opening, n *Notification) bool {
	if o.Seq != 0 && n.Seq != 0 {
		return o.Seq < n.Seq
	}
	return o.Time.Before(n.Time())
}

// errAwaitingOpening defers a closing follow-up while what it closes is delivered.
var errAwaitingOpening = errors.New("the notification it follows up is still being delivered")

// awaitOpeningRetry is how soon a deferred follow-up comes back.
const awaitOpeningRetry = 10 * time.Second

func (l *ledger) putIncident(ctx context.Context, inc *Incident) error {
	b, err := json.Marshal(inc)
	if err != nil {
		return err
	}
	_, err = l.kv.Put(ctx, incidentKey(inc.Topic), b)
	return err
}

// follow finds what it follows up and reports whether it is to be sent at all: a
// completion that follows no open failure, and a release of a quarantine already
// released, are not told.
func (s *Stage) follow(ctx context.Context, it *item) (send bool, err error) {
	if it.topic.name == "" {
		return true, nil
	}
	inc, err := s.ledger.incident(ctx, it.topic.name)
	if err != nil {
		return false, err
	}
	if it.topic.role == roleCloses && inc != nil && inc.State != IncidentOpen {
		if o := inc.Opening; o != nil && o.EventID != it.id && time.Since(o.At) < openingMaxAge && opensFirst(o, it.n) {
			// The failure it resolves is on its way (queued behind the destination's
			// pace, or retried): told once that one is, not dropped.
			return false, Defer(errAwaitingOpening, "awaiting_opening", awaitOpeningRetry)
		}
	}
	if inc != nil && inc.State != IncidentOpen {
		inc = nil
	}
	if it.topic.role == roleCloses && inc != nil && inc.Seq != 0 && it.n.Seq != 0 && it.n.Seq < inc.Seq {
		// A success older than the failure the incident opened on (both delivered out of
		// order): it says nothing about that failure.
		inc = nil
	}
	if it.topic.role == roleCloses && inc == nil && it.n.Event != nil {
		return false, nil
	}
	if inc != nil && inc.Seq != 0 && !inc.Grouped {
		inc.Original = s.original(ctx, inc.Seq, inc.Opened)
	}
	it.n.Follows = inc
	return true, nil
}

// original reads the event stored at seq back, for a sink that re-renders the message
// it opened. nil when it is gone (past the stream's retention) or not that event.
func (s *Stage) original(ctx context.Context, seq uint64, id string) *Notification {
	str, err := s.o.JS.Stream(ctx, s.o.Stream)
	if err != nil {
		return nil
	}
	m, err := str.GetMsg(ctx, seq)
	if err != nil {
		return nil
	}
	n, err := decodeNotification(m.Data)
	if err != nil || n.ID() != id {
		return nil
	}
	n.Seq = seq
	return n
}

// settleIncidents records what delivered items did to their incidents: b was their
// batch, firstID the destination's id of its first message, and grouped whether that
// message carried other events too.
func (st *Stage) settleIncidents(ctx context.Context, q *keyQueue, items []*item, b Batch, firstID string, grouped bool) {
	forEach(items, func(it *item) {
		inc := st.nextIncident(it, q, b, firstID, grouped)
		if inc == nil {
			return
		}
		if err := st.ledger.putIncident(ctx, inc); err != nil {
			// A follow-up then finds the incident as it was: a resolution may not update
			// the message it resolves.
			q.log.Warn("delivered, but the ledger could not record the incident", "event", it.id, "topic", inc.Topic, "error", err)
			return
		}
		// The entry written replaced any mark of an opening (Incident.Opening).
		it.recorded.Store(true)
	})
}

// nextIncident returns it's incident after its delivery, nil when it has none.
func (st *Stage) nextIncident(it *item, q *keyQueue, b Batch, firstID string, grouped bool) *Incident {
	n := it.n
	now := time.Now().UTC()
	switch it.topic.role {
	case roleOpens:
		inc := &Incident{Topic: it.topic.name, State: IncidentOpen, EventID: n.ID(), Status: statusOf(n),
			Seq: n.Seq, Opened: n.ID(), Key: q.ref(), ID: firstID, Grouped: grouped, At: now}
		if n.Event != nil {
			u := n.Event.Data.User
			inc.User = &u
		}
		if b.Reply && n.Follows != nil {
			// Told as a follow-up of the open incident (a re-run that failed again, in
			// the thread of the first failure): the incident keeps its message.
			prev := *n.Follows
			prev.EventID, prev.Status, prev.At, prev.Action, prev.Original = inc.EventID, inc.Status, now, nil, nil
			return &prev
		}
		return inc
	case roleCloses:
		if n.Follows == nil {
			return nil
		}
		done := *n.Follows
		done.State, done.At, done.Original = IncidentResolved, now, nil
		return &done
	case roleActs:
		if n.Follows == nil {
			return nil
		}
		a := n.Action.Data
		acted := *n.Follows
		acted.Original = nil
		acted.Action = &IncidentAction{Kind: a.Kind, Action: a.Action, Actor: a.Actor, At: a.At}
		return &acted
	}
	return nil
}

// statusOf is what n announced: a processing status, or a workflow change.
func statusOf(n *Notification) string {
	switch {
	case n.Event != nil:
		if r, err := n.Event.Data.Result(); err == nil {
			return r.ProcessingStatus
		}
	case n.Workflow != nil:
		return n.Workflow.Data.Change
	}
	return ""
}
