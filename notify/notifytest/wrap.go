package notifytest

import (
	"context"
	"time"

	"github.com/lcwnotify/lcwnotify/notify"
)

// SendFunc is a notify.Sink's Send.
type SendFunc func(ctx context.Context, key string, m notify.Message, p notify.Part) (notify.Receipt, error)

// WrapSend returns s with its Send replaced by send (which usually calls s.Send), keeping
// whichever of notify.Finder and notify.Resolver s implements: the delivery stage treats a
// sink by what it can do, so a wrapper that hid Find would turn an exactly-once sink
// into an at-least-once one.
func WrapSend(s notify.Sink, send SendFunc) notify.Sink {
	w := wrapped{Sink: s, send: send}
	f, finds := s.(notify.Finder)
	r, resolves := s.(notify.Resolver)
	switch {
	case finds && resolves:
		return &wrappedFinderResolver{wrapped: w, f: f, r: r}
	case finds:
		return &wrappedFinder{wrapped: w, f: f}
	case resolves:
		return &wrappedResolver{wrapped: w, r: r}
	}
	return &w
}

type wrapped struct {
	notify.Sink
	send SendFunc
}

func (w *wrapped) Send(ctx context.Context, key string, m notify.Message, p notify.Part) (notify.Receipt, error) {
	return w.send(ctx, key, m, p)
}

type wrappedFinder struct {
	wrapped
	f notify.Finder
}

func (w *wrappedFinder) Find(ctx context.Context, key string, since time.Time, batches []notify.Sought) (map[string]notify.Found, error) {
	return w.f.Find(ctx, key, since, batches)
}

type wrappedResolver struct {
	wrapped
	r notify.Resolver
}

func (w *wrappedResolver) Resolve(ctx context.Context, key string) (string, error) {
	return w.r.Resolve(ctx, key)
}

type wrappedFinderResolver struct {
	wrapped
	f notify.Finder
	r notify.Resolver
}

func (w *wrappedFinderResolver) Find(ctx context.Context, key string, since time.Time, batches []notify.Sought) (map[string]notify.Found, error) {
	return w.f.Find(ctx, key, since, batches)
}

func (w *wrappedFinderResolver) Resolve(ctx context.Context, key string) (string, error) {
	return w.r.Resolve(ctx, key)
}
