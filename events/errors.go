package events

import "errors"

// ErrMalformed reports a message that is not a valid lcwnotify change event. Retrying
// cannot fix it: consumers should dead-letter it.
var ErrMalformed = errors.New("events: malformed change event")

// ErrInvalidConfig reports a stream or subject setting that NATS would refuse.
var ErrInvalidConfig = errors.New("events: invalid configuration")
