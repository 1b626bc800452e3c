package natsembed

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
)

// The listener's clients live in an account of their own. lcwnotify's stream, its
// key-value buckets and its consumers stay in the server's global account, where every
// existing store already holds them. Permissions inside one account would not be
// enough: a client chooses the reply subject of its requests, and the JetStream API
// answers there, in the account's own namespace, so a subscriber asking for stream info
// with the reply subject $KV.<bucket>.<key> would write that key. Across accounts the
// server routes every answer back into the subscribers' account, where no bucket is.
const subscriberAccount = "subscribers"

// gatePrefix starts the subjects, in lcwnotify's account, on which the gate receives
// the subscriber requests it checks before passing them on. The '$' keeps them clear of
// the events' subjects (a subject prefix cannot start with one), and so out of the
// stream.
const gatePrefix = "$LCWGATE."

// pullResponseWindow is how long the answers to one pull request may keep coming back
// to a subscriber: past it the server forgets the route. It bounds a pull request's
// expiry (nats.go and the nats CLI ask for 30 s).
const pullResponseWindow = 5 * time.Minute

// route is one subject a subscriber may publish to, in its account, and how it reaches
// lcwnotify's account.
type route struct {
	subject string
	// gated requests go to the gate, which checks them and passes them on; the others
	// go straight to the JetStream API, being reads of the stream only.
	gated bool
	// streamed requests get several answers (a pull request, a batched direct get).
	streamed bool
}

// subscriberRoutes are the JetStream API and acknowledgement subjects a subscriber of
// stream needs to read it through consumers it creates: the stream's info and
// messages, its consumers' info, creating, deleting and pulling from consumers, and
// acknowledging what they deliver. Nothing else of the JetStream API is imported, so
// the rest (other streams, the buckets, deleting or purging, publishing) has no
// responder in the subscribers' account.
func subscriberRoutes(stream string) []route {
	s := stream
	return []route{
		{subject: "$JS.API.INFO"}, // account info: the nats CLI asks for it; it also hides the server's own JetStream responder
		{subject: "$JS.API.STREAM.INFO." + s},
		{subject: "$JS.API.STREAM.MSG.GET." + s},
		{subject: "$JS.API.DIRECT.GET." + s, streamed: true},
		{subject: "$JS.API.DIRECT.GET." + s + ".>", streamed: true},
		{subject: "$JS.API.CONSUMER.INFO." + s + ".*"},
		{subject: "$JS.API.CONSUMER.NAMES." + s},
		{subject: "$JS.API.CONSUMER.LIST." + s},
		{subject: "$JS.API.STREAM.NAMES", gated: true}, // answered with this stream only
		{subject: "$JS.API.STREAM.LIST", gated: true},  // likewise
		{subject: "$JS.API.CONSUMER.CREATE." + s, gated: true},
		{subject: "$JS.API.CONSUMER.CREATE." + s + ".>", gated: true},
		{subject: "$JS.API.CONSUMER.DURABLE.CREATE." + s + ".*", gated: true},
		{subject: "$JS.API.CONSUMER.DELETE." + s + ".*", gated: true},
		{subject: "$JS.API.CONSUMER.MSG.NEXT." + s + ".*", streamed: true},
		{subject: "$JS.ACK." + s + ".>"},
	}
}

// gateSubject is where, in lcwnotify's account, a gated subject arrives.
func gateSubject(subject string) string { return gatePrefix + strings.TrimPrefix(subject, "$") }

// realSubject is the subject a subscriber published, from the one the gate received.
func realSubject(gated string) string { return "$" + strings.TrimPrefix(gated, gatePrefix) }

// subscriberAccounts returns the global account and the subscribers' account, exported
// and imported so that subscribers receive the events published under sub.Prefix and
// reach the routes of sub.Stream, and nothing else of lcwnotify's account.
func subscriberAccounts(sub Subscribers) (global, subscribers *server.Account, err error) {
	global = server.NewAccount(server.DEFAULT_GLOBAL_ACCOUNT)
	subscribers = server.NewAccount(subscriberAccount)
	only := []*server.Account{subscribers}
	events := sub.Prefix + ".>"
	if err := global.AddStreamExport(events, only); err != nil {
		return nil, nil, fmt.Errorf("natsembed: export %s: %w", events, err)
	}
	if err := subscribers.AddStreamImport(global, events, ""); err != nil {
		return nil, nil, fmt.Errorf("natsembed: import %s: %w", events, err)
	}
	for _, r := range subscriberRoutes(sub.Stream) {
		to := r.subject
		if r.gated {
			to = gateSubject(r.subject)
		}
		respType := server.Singleton
		if r.streamed {
			respType = server.Streamed
		}
		if err := global.AddServiceExportWithResponse(to, respType, only); err != nil {
			return nil, nil, fmt.Errorf("natsembed: export %s: %w", to, err)
		}
		if r.streamed {
			if err := global.SetServiceExportResponseThreshold(to, pullResponseWindow); err != nil {
				return nil, nil, fmt.Errorf("natsembed: export %s: %w", to, err)
			}
		}
		if err := subscribers.AddServiceImport(global, r.subject, to); err != nil {
			return nil, nil, fmt.Errorf("natsembed: import %s: %w", r.subject, err)
		}
	}
	return global, subscribers, nil
}

// subscriberUser is the listener's one user: its nkey, in the subscribers' account,
// over the network only, publishing only to the routes (so never an event, nor a
// message for another subscriber) and never pulling from or acknowledging for
// lcwnotify's consumers, subscribing only to the events and to inboxes.
func subscriberUser(pub string, sub Subscribers, acc *server.Account) *server.NkeyUser {
	var publish, deny []string
	for _, r := range subscriberRoutes(sub.Stream) {
		publish = append(publish, r.subject)
	}
	for _, c := range sub.ReservedConsumers {
		deny = append(deny, "$JS.API.CONSUMER.MSG.NEXT."+sub.Stream+"."+c, "$JS.ACK."+sub.Stream+"."+c+".>")
	}
	return &server.NkeyUser{
		Nkey:    pub,
		Account: acc,
		Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: publish, Deny: deny},
			Subscribe: &server.SubjectPermission{Allow: []string{sub.Prefix + ".>", "_INBOX.>"}},
		},
		AllowedConnectionTypes: map[string]struct{}{jwt.ConnectionTypeStandard: {}},
	}
}

// validSubjectPrefix reports whether prefix can start the subjects exported to
// subscribers: plain tokens, neither a reply namespace (_INBOX, _R_) nor a system one
// ($…), whose export would hand subscribers lcwnotify's own replies.
func validSubjectPrefix(prefix string) bool {
	if prefix == "" || strings.ContainsAny(prefix, "*> \t\r\n") || strings.HasPrefix(prefix, "$") {
		return false
	}
	tokens := strings.Split(prefix, ".")
	return tokens[0] != "_INBOX" && tokens[0] != "_R_" && !slices.Contains(tokens, "")
}
