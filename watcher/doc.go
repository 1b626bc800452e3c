// Package watcher polls Microsoft Graph's Lifecycle Workflows reports, diffs every
// userProcessingResult's processingStatus against durable state in a JetStream key-value
// bucket, and publishes each change once as a change event (package events).
//
// One poll costs the same whatever the tenant's history: per watched workflow it lists
// the runs updated since the workflow's watermark (and the results of those runs), the
// results completed since the watermark, and the results not yet final — three requests
// when nothing happened — plus the workflow list. Requests beyond those are proportional
// to changes: task results and the user of a result entering a notify status, and a
// tracked result that no list returned.
//
// Polls come in two kinds (schedule.go): a full poll of every workflow every
// PollInterval, as above, and in between, every ActiveInterval, an active poll of the
// workflows in which something can change soon — a result not final, a scheduled run
// due, an activation lcwnotify made — that reads only what changed since their previous
// poll. Full polls carry every guarantee; active polls only bring announcements forward.
//
// Every change is published before it is recorded: the event is stored with its
// deterministic id as Nats-Msg-Id, and only then is the state advanced with
// compare-and-set; the watermark moves last. A crash in between re-publishes an event
// the stream's duplicate window absorbs; two watchers racing on the same bucket can
// neither overwrite each other's state nor store an event twice, and a lease in the
// bucket lets only one of them poll at a time.
//
// docs/architecture.md ("The watcher") explains the design; docs/events.md the events.
package watcher
