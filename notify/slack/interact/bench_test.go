package interact

import (
	"context"
	"log/slog"
	"testing"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/internal/graphsim"
	"github.com/lcwnotify/lcwnotify/internal/slacktest"
	lcwslack "github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/watcher/graph"
)

// BenchmarkClick measures what a click costs from the moment it is taken to the
// outcome told (the Graph checks, the claim, the activation, the claim's outcome, four
// records and two replies), against the baseline of the bare activation call, on the
// same simulator, NATS and fake Slack. Each iteration acts on a new failure.
//
//	go test ./notify/slack/interact -run '^$' -bench BenchmarkClick -benchtime 200x
func BenchmarkClick(b *testing.B) {
	tn := newTenant(b, graphsim.Options{}, "")
	newFailure := func() string {
		u := tn.sim.AddUser(graphsim.User{DisplayName: "Bench User"})
		run := tn.sim.StartRun(tn.wf.ID, u.ID)
		tn.sim.SetResultStatus(run.Results[0], events.StatusFailed, graphsim.TaskFailure{Task: "Assign licenses to user", Reason: graphsim.ReasonNoLicenses})
		return run.Results[0]
	}
	b.Run("baseline-activate", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			b.StopTimer()
			r := newFailure()
			b.StartTimer()
			if err := tn.graph.ActivateWithScope(ctx, tn.wf.ID, graph.ProcessingResultScope(graph.TaskScopeFailed, r)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("click", func(b *testing.B) {
		o := tn.options()
		o.Logger = slog.New(slog.DiscardHandler)
		h, err := New(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for b.Loop() {
			b.StopTimer()
			r := newFailure()
			v, _ := lcwslack.EncodeActionValue(events.RerunFailedTasks, lcwslack.ActionTarget{WorkflowID: tn.wf.ID, ResultID: r})
			ba := &slacktest.BlockActions{UserID: allowedUser, ChannelID: testChannel, MessageTS: testTS,
				ResponseURL: tn.slack.ResponseURL(), ActionID: lcwslack.ActionIDRerunFailedTasks, Value: v}
			clicks, err := parseInteraction(ba.Payload())
			if err != nil || len(clicks) != 1 {
				b.Fatal(err)
			}
			b.StartTimer()
			h.handle(ctx, clicks[0])
		}
		b.StopTimer()
		if got := len(tn.sim.Activations()); got < b.N {
			b.Fatalf("%d activations for %d clicks", got, b.N)
		}
	})
}
