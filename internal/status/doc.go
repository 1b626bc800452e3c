// Package status gathers what an operator asks of a running lcwnotify deployment: who
// polls and how far each workflow got, the failures of the last days with where each was
// told and what became of it, quarantined and disabled workflows, how each destination
// is doing, and the dead letters; and replays through the delivery stage, a dead letter
// or a whole period to one destination.
//
// Everything comes from NATS — the stream, the watcher's bucket and each sink's ledger —
// read without writing, so that a Reader can run in the process that serves the status
// page or in an operator's command beside it. What only a running process knows (its
// watcher's last poll, Graph throttling, each destination's health in memory) comes from
// the optional live sources in Options.
package status
