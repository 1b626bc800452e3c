package interact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lcwnotify/lcwnotify/events"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
)

// handle acts on one click: the button's value is read, the person's right to act
// checked, the action's claim consulted (a click on an action already requested is
// refused, after settling the claim if its call was left unfinished), the target
// checked against Graph, the action claimed with compare-and-set, Graph called, and
// the outcome recorded. Every click ends in a requested or a refused record, and the
// clicker hears of it.
func (h *Handler) handle(ctx context.Context, c click) {
	v, err := lcwslack.DecodeActionValue(c.ActionID, c.Value)
	if err != nil {
		h.log.Warn("a click on a button lcwnotify cannot read: nothing done", "user", c.UserID, "request", c.Request, "err", err)
		h.m.rejected("bad_value")
		h.tell(ctx, c, "lcwnotify cannot read this button (a newer version may have posted it): nothing was done.")
		return
	}
	d := h.actionData(c, v)
	log := h.log.With("action_id", d.ActionID, "action", d.Action, "workflow", d.Workflow.ID, "user", c.UserID, "request", c.Request)
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()

	if !h.watched(d.Workflow.ID) {
		h.refuse(rctx, c, d, "lcwnotify does not watch this workflow (LCW_WORKFLOWS)")
		return
	}
	if ok, err := h.allow.allows(rctx, c.UserID); !ok {
		reason := fmt.Sprintf("<@%s> may not re-run workflows from Slack (LCW_ACTIONS_ALLOWED)", c.UserID)
		if err != nil {
			log.Warn("cannot tell whether the user may act, so they may not", "err", err)
			reason = fmt.Sprintf("lcwnotify could not check whether <@%s> may act (%v), so nothing was done", c.UserID, err)
		}
		h.refuse(rctx, c, d, reason)
		return
	}

	prev, rev, err := h.claims.get(rctx, d.ActionID)
	if err != nil {
		h.unavailable(rctx, c, log, err)
		return
	}
	first := time.Time{}
	if prev != nil {
		prev, rev = h.settle(ctx, prev, rev)
		if prev.Data.Request == c.Request {
			// This very click, delivered again (a retry, a replay): handled once.
			log.Info("the same click delivered again; handled already")
			return
		}
		if prev.State != stateFailed {
			h.refuse(rctx, c, d, already(prev))
			return
		}
		// Graph refused before, or nothing was sent: this click tries again.
		first = prev.First
	}

	h.tell(ctx, c, acknowledgement(v))
	t, err := h.verify(rctx, &d, v.SubjectID)
	if t.workflow.ID != "" {
		d.Workflow = t.workflow
	}
	d.Target.User = t.user
	var r *refusal
	if errors.As(err, &r) {
		h.refuse(rctx, c, d, r.reason)
		return
	}

	until, err := h.claims.lease(ctx, h.opts.CallTimeout+time.Second)
	if err != nil {
		h.unavailable(rctx, c, log, err)
		return
	}
	now := time.Now()
	if first.IsZero() {
		first = now
	}
	cl := &claim{State: stateCalling, Data: d, SubjectID: t.subject, Owner: h.claims.owner,
		First: first, At: now, Deadline: h.deadline(now, until), Calls: 1}
	rev, err = h.claims.put(ctx, cl, rev)
	if errors.Is(err, errLost) {
		// Another click (or this one, delivered twice) claimed it in the meantime.
		cur, _, gerr := h.claims.get(rctx, d.ActionID)
		switch {
		case gerr != nil:
			h.unavailable(rctx, c, log, gerr)
		case cur != nil && cur.Data.Request == c.Request:
			log.Info("the same click delivered twice at once; the other delivery acts")
		case cur != nil:
			h.refuse(rctx, c, d, already(cur))
		}
		return
	}
	if err != nil {
		h.unavailable(rctx, c, log, err)
		return
	}
	if h.crashed("claimed") {
		return
	}
	if err := h.record(ctx, d, events.ActionRequested, now, "", nil); err != nil {
		log.Warn("the request's record waits for the outcome's", "err", err)
	}
	if o, _ := h.execute(ctx, cl, rev); !o.dead {
		h.tell(ctx, c, outcomeText(v, o))
	}
}

// actionData is the action a click asks for, as its audit records carry it.
func (h *Handler) actionData(c click, v lcwslack.ActionValue) events.ActionData {
	target := v.ResultID
	if v.Action == events.RerunFailedUsers {
		target = v.RunID
	}
	d := events.ActionData{
		TenantID: h.opts.TenantID,
		// The value's names are for display only: records carry what Graph says.
		Workflow: events.Workflow{ID: v.WorkflowID},
		ActionID: actionID(v.Action, v.WorkflowID, target),
		Action:   v.Action,
		Target:   events.ActionTarget{ResultID: v.ResultID, RunID: v.RunID, EventID: v.EventID},
		Actor:    events.Actor{Via: "slack", ID: c.UserID, Name: c.UserName, Team: c.TeamID},
		Request:  c.Request,
	}
	if v.Action == events.RerunFailedUsers {
		d.Target.ResultID = ""
	}
	if c.ChannelID != "" && c.MessageTS != "" {
		d.Message = &events.MessageRef{Sink: "slack", Key: c.ChannelID, ID: c.MessageTS}
	}
	return d
}

// execute calls Graph for a claim this process holds and records the outcome. An
// answer that was lost leaves the claim calling, without an owner, for settle.
func (h *Handler) execute(ctx context.Context, cl *claim, rev uint64) (outcome, uint64) {
	cctx, cancel := context.WithDeadline(ctx, cl.Deadline)
	err := h.call(cctx, cl)
	cancel()
	if h.crashed("called") {
		return outcome{lost: true, dead: true}, rev
	}
	o := classify(err)
	log := h.log.With("action_id", cl.Data.ActionID, "action", cl.Data.Action, "workflow", cl.Data.Workflow.ID, "request", cl.Data.Request)
	if o.lost && cl.Calls < maxCalls {
		log.Warn("Graph's answer to an activation was lost; the workflow's runs will tell whether it started", "err", err)
		// The call is over: the grace for its run to show counts from now.
		cl.Owner, cl.Reason, cl.Graph, cl.Deadline = "", o.reason, o.graph, time.Now()
		n, err := h.claims.put(ctx, cl, rev)
		if err != nil {
			// The lease ends after the call's deadline: whoever settles the claim then
			// reads the runs all the same.
			log.Warn("cannot record that the answer was lost; the lease's end will tell", "err", err)
			return o, rev
		}
		return o, n
	}
	if o.lost {
		o.failed = true
		o.reason = fmt.Sprintf("Graph's answer was lost %d times: look at the workflow's runs in the Entra admin center before trying again", cl.Calls)
	}
	if o.failed {
		log.Warn("Graph did not take the activation", "reason", o.reason, "status", o.graph.Status, "code", o.graph.Code, "request_id", o.graph.RequestID)
	}
	return o, h.finish(ctx, cl, rev, o)
}

// finish records a claim's outcome, then its audit records, and returns the claim's
// revision.
func (h *Handler) finish(ctx context.Context, cl *claim, rev uint64, o outcome) uint64 {
	cl.State, cl.Owner, cl.Reason, cl.Graph, cl.Done, cl.Published = stateAccepted, "", o.reason, o.graph, time.Now(), false
	if o.failed {
		cl.State = stateFailed
	}
	rev, err := h.claims.put(ctx, cl, rev)
	if err != nil {
		h.log.Error("cannot record an action's outcome: the workflow's runs will tell it again",
			"action_id", cl.Data.ActionID, "state", cl.State, "err", err)
		return rev
	}
	return h.publishOutcome(ctx, cl, rev)
}

// publishOutcome stores the records of a settled claim (its request's, in case that
// was not stored, and its outcome's), then marks the claim published. A failure leaves
// it for the sweep: the records' ids make storing them twice harmless. It returns the
// claim's revision.
func (h *Handler) publishOutcome(ctx context.Context, cl *claim, rev uint64) uint64 {
	kind := events.ActionAccepted
	if cl.State == stateFailed {
		kind = events.ActionFailed
	}
	err := h.record(ctx, cl.Data, events.ActionRequested, cl.At, "", nil)
	if err == nil {
		err = h.record(ctx, cl.Data, kind, cl.Done, cl.Reason, cl.Graph)
	}
	if err != nil {
		h.log.Warn("an action's outcome is not in the stream yet; the sweep publishes it", "action_id", cl.Data.ActionID, "err", err)
		return rev
	}
	cl.Published = true
	n, err := h.claims.put(ctx, cl, rev)
	if err != nil {
		h.log.Debug("cannot mark an action's records published; they may be published again", "action_id", cl.Data.ActionID, "err", err)
		cl.Published = false
		return rev
	}
	return n
}

// settle finishes what a claim left undone: it publishes an outcome not yet in the
// stream, and resolves a call whose owner is gone or whose answer was lost. The
// workflow's runs since the claim say whether the activation happened (it did:
// accepted); once the grace after the call's deadline has passed without a run, the
// activation is made again, by whichever replica claims it first. It returns the
// claim as it now is.
func (h *Handler) settle(ctx context.Context, cl *claim, rev uint64) (*claim, uint64) {
	if cl.State != stateCalling {
		if !cl.Published {
			rev = h.publishOutcome(ctx, cl, rev)
		}
		return cl, rev
	}
	log := h.log.With("action_id", cl.Data.ActionID, "action", cl.Data.Action, "workflow", cl.Data.Workflow.ID)
	if alive, err := h.claims.alive(ctx, cl.Owner); err != nil || alive {
		return cl, rev // being called right now (or NATS cannot say)
	}
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	found, err := h.findRun(rctx, cl)
	cancel()
	switch {
	case err != nil:
		log.Warn("cannot read the workflow's runs to settle an unfinished action; trying again later", "err", err)
		return cl, rev
	case found:
		log.Info("an unfinished action's run is in Graph: it was accepted")
		return cl, h.finish(ctx, cl, rev, outcome{})
	case time.Now().Before(cl.Deadline.Add(h.opts.Grace)):
		log.Debug("no run yet for an unfinished action; waiting for it to show in Graph", "until", cl.Deadline.Add(h.opts.Grace))
		return cl, rev
	case cl.Calls >= maxCalls:
		return cl, h.finish(ctx, cl, rev, outcome{failed: true, graph: cl.Graph,
			reason: fmt.Sprintf("Graph's answer was lost %d times: look at the workflow's runs in the Entra admin center before trying again", cl.Calls)})
	}
	until, err := h.claims.lease(ctx, h.opts.CallTimeout+time.Second)
	if err != nil {
		return cl, rev
	}
	now := time.Now()
	next := *cl
	next.Owner, next.At, next.Deadline, next.Calls = h.claims.owner, now, h.deadline(now, until), cl.Calls+1
	nrev, err := h.claims.put(ctx, &next, rev)
	if err != nil {
		return cl, rev // another replica settles it
	}
	log.Info("no run for an unfinished action after the grace period: activating again", "calls", next.Calls)
	_, nrev = h.execute(ctx, &next, nrev)
	return &next, nrev
}

// crashed reports whether a test stopped the handling of a click at point.
func (h *Handler) crashed(point string) bool { return h.crash != nil && h.crash(point) }

// refuse records a click that lcwnotify does not act on, and tells the clicker why.
func (h *Handler) refuse(ctx context.Context, c click, d events.ActionData, reason string) {
	h.log.Info("action refused", "action_id", d.ActionID, "action", d.Action, "workflow", d.Workflow.ID,
		"user", c.UserID, "request", c.Request, "reason", reason)
	if err := h.record(ctx, d, events.ActionRefused, time.Now(), reason, nil); err != nil {
		h.log.Error("cannot store the record of a refused click", "action_id", d.ActionID, "request", c.Request, "err", err)
	}
	h.tell(ctx, c, "Nothing was done: "+reason+".")
}

// unavailable tells the clicker that NATS could not record the click: nothing is done
// without a claim.
func (h *Handler) unavailable(ctx context.Context, c click, log *slog.Logger, err error) {
	log.Error("cannot claim the action, so nothing was done", "err", err)
	h.tell(ctx, c, "lcwnotify cannot record actions right now (its NATS store did not answer), so nothing was done: click again in a minute.")
}

// already says who asked for the action, when, and what became of it.
func already(cl *claim) string {
	who := "<@" + cl.Data.Actor.ID + ">"
	at := cl.At.UTC().Format("2006-01-02 15:04 UTC")
	switch cl.State {
	case stateAccepted:
		return fmt.Sprintf("already requested by %s at %s, and Graph accepted it", who, at)
	case stateFailed:
		return fmt.Sprintf("already requested by %s at %s; Graph did not take it (%s)", who, at, cl.Reason)
	}
	return fmt.Sprintf("already being requested by %s (since %s): lcwnotify is waiting for Graph's answer", who, at)
}

// deadline is when a call starting now must end: within the call timeout, and a second
// before this process's lease does, so that the lease's expiry proves the call over.
func (h *Handler) deadline(now, leaseUntil time.Time) time.Time {
	d := now.Add(h.opts.CallTimeout)
	if end := leaseUntil.Add(-time.Second); end.Before(d) {
		d = end
	}
	return d
}
