// Package digest builds the periodic report on the watched workflows (LCW_DIGEST): when
// a period ends (Schedule, in a time zone, across daylight saving changes) and what it
// says of each workflow (Builder, from Microsoft Graph's summaries and results).
//
// The watcher publishes one digest per period as an events.DigestEvent; `lcwnotify
// digest` prints the same report for a span ending now.
package digest
