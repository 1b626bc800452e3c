// Package teams posts notifications to Microsoft Teams channels through the Workflows
// app's "post to a channel when a webhook request is received" flow (Office 365
// connectors are retired): each message is the envelope that flow takes,
// {"type":"message","attachments":[…]}, carrying one Adaptive Card 1.5.
//
// Failures are grouped like Slack's: the first to an idle webhook is posted at once,
// and those that queue behind the webhook's pace go out together, split into as many
// cards as the ≈28 KB a card may hold requires, never dropping one. A Workflows webhook
// answers 202 before it posts and cannot be read back, so delivery is at least once,
// with the window the delivery stage's ledger leaves: a crash between Teams taking a
// card and the ledger recording it posts that card again.
package teams
