// Package e2e proves lcwnotify's promise — one notification per failure, never none,
// never two — on the real binary, broken the way an operator's environment breaks it.
//
// Each test builds a world of stand-ins on loopback (an Entra authority and Graph over
// TLS for the real azidentity credential, a real nats-server it can restart, a fake
// Slack that enforces the per-channel rate limit), starts `lcwnotify run` (or `watch`
// and `notify` apart) configured through its environment only, drives lifecycle
// workflow results through their statuses, breaks things — SIGKILL at random moments,
// NATS restarts, Slack outages and 429 storms, Graph throttling and garbage, a second
// replica killed midway — and then asserts on what Slack and the stream received: every
// failure listed in Slack exactly once, every change event stored once, nothing for
// history, no post inside a Retry-After window, no secret in any output or in /metrics.
// A failure names the results lost or doubled.
//
// The binary is built once per run (with -race when the tests run with -race, so races
// in the real process fail the suite). The suite is skipped with -short. It runs in
// about two to four minutes on two cores, four tests at a time (they wait rather than
// compute); LCW_E2E_SOAK=1 drives eight times as many results through every traffic
// test, and the crash test kills the process correspondingly more often. Each test logs
// the seed of its randomness. The processes' logs are kept with `go test -artifacts`:
//
//	go test -race ./e2e/
//	LCW_E2E_SOAK=1 go test -race -timeout 40m ./e2e/
//	go test -race -run TestKilledAtRandomMoments -artifacts -outputdir /tmp/e2e ./e2e/
package e2e
