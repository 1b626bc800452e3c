// Package harness runs the real lcwnotify binary the way an operator does — a process
// configured through its environment — against in-process stand-ins for everything it
// talks to: an Entra token authority and Microsoft Graph (the graphsim simulator), both
// over TLS and trusted through SSL_CERT_FILE, Slack (notifytest's fake, which enforces
// the per-channel rate limit), a webhook receiver, and a NATS server with JetStream.
//
// It holds what the end-to-end suite (package e2e) and the load command (cmd/lcwbench)
// share: building the binary, the World of fakes and the environment pointing at it,
// processes that can be killed, stopped and measured (/proc), the operations endpoint
// (/readyz, /metrics) and the stream's contents. Nothing in it needs a *testing.T.
package harness
