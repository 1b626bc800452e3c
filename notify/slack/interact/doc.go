// Package interact handles clicks on the buttons of lcwnotify's Slack messages: it
// receives Slack's block_actions interactions over Socket Mode (an app-level token;
// no public endpoint) or over HTTP (a Request URL, requests verified with the signing
// secret), decides whether the person may act (LCW_ACTIONS_ALLOWED: user ids and user
// groups), checks the button's target against Microsoft Graph, and re-runs the failure
// through Lifecycle Workflows' activate and activateWithScope exactly once however
// often it is clicked, delivered or replayed, and however many replicas receive it.
//
// Exactly once rests on a claim per action in the NATS KV bucket <stream>-actions,
// created with compare-and-set before Graph is called and holding the outcome after.
// Graph's activations are not idempotent, so a claim left in the middle of a call (a
// process killed, an answer lost) is settled by reading the workflow's runs: a run
// started on the claim's target since the claim means the activation happened; none
// after a grace period means it did not, and it is made then. Owners prove they are
// alive with leases that the NATS server expires.
//
// Every click is in the audit trail: each is recorded as requested (then accepted or
// failed) or refused, as an events.ActionEvent on <prefix>.action.<workflowId>.<kind>,
// and logged. The person who clicked is told at once, and told the outcome, in
// ephemeral messages. docs/actions.md describes the setup and the security model.
package interact
