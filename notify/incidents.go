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
	e, err := l.kv.Get(ctx, incidentKey(topic))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read incident: %w", err)
	}
	var inc Incident
	if err := json.Unmarshal(e.Value(), &inc); err != nil || inc.Topic != topic {
		return nil, nil // not ours to interpret: as if there were none
	}
	return &inc, nil
}

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
	if inc != nil && inc.State != IncidentOpen {
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
		}
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
