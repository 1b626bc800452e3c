package main

import (
	"context"
	"sync"
	"time"

	"github.com/lcwnotify/lcwnotify/internal/status"
	"github.com/lcwnotify/lcwnotify/internal/status/web"
	"github.com/lcwnotify/lcwnotify/notify"
	"github.com/lcwnotify/lcwnotify/notify/slack"
	"github.com/lcwnotify/lcwnotify/watcher"
)

// statusUI is the status page of a running process (LCW_UI=true): it reads the stream,
// the watcher's bucket and the ledgers, asks this process's watcher and dispatchers
// what only they know, and replays through the dispatchers.
type statusUI struct {
	reader  *status.Reader
	replay  *replayers
	links   *slackLinks
	handler *web.Handler
}

// startUI serves the status page and its API on the operations server.
func (s *service) startUI() error {
	links := &slackLinks{}
	rd, err := s.statusReader(s.nats, links)
	if err != nil {
		return err
	}
	ui := &statusUI{reader: rd, replay: &replayers{}, links: links}
	ui.handler, err = web.New(web.Options{
		Source: rd, Replayer: ui.replay, Token: s.cfg.UIToken.Reveal(), Loopback: s.cfg.httpLoopback(),
		Version: readBuildInfo().Version, Logger: s.log,
	})
	if err != nil {
		return err
	}
	ui.handler.Register(s.mux)
	s.http.srv.RegisterOnShutdown(ui.handler.Stop)
	s.ui = ui
	s.log.Info("serving the status page", "addr", s.http.Addr(), "token", s.cfg.UIToken.IsSet())
	return nil
}

// statusReader reads the status of the deployment cfg describes over nc.
func (s *service) statusReader(nc *natsConn, links status.Linker) (*status.Reader, error) {
	return status.NewReader(status.Options{
		JS: nc.js, Stream: string(s.cfg.Stream), Prefix: string(s.cfg.SubjectPrefix), Statuses: s.cfg.NotifyStatuses,
		PollInterval: s.cfg.PollInterval, AdminCenterURL: string(s.cfg.AdminCenterURL), Links: links,
	})
}

// watching tells the page of the process's watcher and Graph's throttling of it.
func (ui *statusUI) watching(w *watcher.Watcher, t *throttleSampler) {
	ui.reader.SetWatcher(w, t.throttled)
}

// delivering tells the page of one of the process's dispatchers, and of its sink.
func (ui *statusUI) delivering(d *notify.Dispatcher, sink notify.Sink) {
	if ui == nil {
		return
	}
	ui.reader.AddDestination(d)
	ui.replay.add(d.Name(), d.Replay)
	if n, ok := sink.(*slack.Notifier); ok {
		ui.links.set(n)
	}
}

// replayers replays through the delivery stages of the process, by sink.
type replayers struct {
	mu    sync.Mutex
	names []string
	by    map[string]func(ctx context.Context, n *notify.Notification, id string) error
}

func (r *replayers) add(sink string, replay func(ctx context.Context, n *notify.Notification, id string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[string]func(context.Context, *notify.Notification, string) error{}
	}
	r.names = append(r.names, sink)
	r.by[sink] = replay
}

// Sinks implements status.Replayer.
func (r *replayers) Sinks() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// Replay implements status.Replayer.
func (r *replayers) Replay(ctx context.Context, sink string, n *notify.Notification, id string) error {
	r.mu.Lock()
	replay := r.by[sink]
	r.mu.Unlock()
	if replay == nil {
		return notify.Permanent(errNoSuchSink(sink), "unknown_destination")
	}
	return replay(ctx, n, id)
}

type errNoSuchSink string

func (e errNoSuchSink) Error() string { return "no " + string(e) + " destination in this process" }

// linkRetry is how long the Slack workspace's address is not asked for again after
// auth.test failed.
const linkRetry = 5 * time.Minute

// slackLinks makes permalinks to the Slack messages of the bot token's workspace, whose
// address auth.test gives once.
type slackLinks struct {
	mu        sync.Mutex
	n         *slack.Notifier
	workspace string
	retry     time.Time
}

func (l *slackLinks) set(n *slack.Notifier) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n = n
}

// Link implements status.Linker.
func (l *slackLinks) Link(ctx context.Context, sink, key, id string) string {
	if sink != slack.Name {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.workspace == "" && l.n != nil && time.Now().After(l.retry) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		ws, err := l.n.WorkspaceURL(cctx)
		cancel()
		if err != nil {
			l.retry = time.Now().Add(linkRetry)
		}
		l.workspace = ws
	}
	return slack.Permalink(l.workspace, key, id)
}
