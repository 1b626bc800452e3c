// Package webhook delivers change events to an HTTP endpoint as CloudEvents, signed as
// the Standard Webhooks specification (https://www.standardwebhooks.com) describes:
// headers webhook-id (the event id), webhook-timestamp and webhook-signature, an
// HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the whsec_ secret.
//
// Delivery is at least once: a response lost on the way back makes the event go again,
// with the same webhook-id, which receivers use to deduplicate. Sign and Verify are
// exported for receivers written in Go and for tests.
package webhook
