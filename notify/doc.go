// Package notify turns change events into notifications: it consumes the events of the
// statuses worth announcing from a durable JetStream consumer, hands each one to a Sink
// (Slack, a signed webhook, the console) and settles the message according to how the
// delivery went.
//
// One loop, the Dispatcher, owns acknowledgements and retries; sinks only deliver and
// classify their failures with Retryable or Permanent:
//
//   - delivered: Ack;
//   - retryable: NakWithDelay, with exponential backoff (honouring a destination's
//     Retry-After), and after MaxDeliver attempts a dead letter rather than a silent drop;
//   - permanent: Term, a dead-letter record on <prefix>.dlq.<sink>, an error log that says
//     what to fix, and a metric.
//
// While a sink holds an event (a Slack channel's pacing, say), the Dispatcher tells
// JetStream the message is still in progress, so it is not redelivered to another replica.
//
// Summarize extracts what every notification says about an event, so that the Slack,
// webhook and console renderings agree.
package notify
