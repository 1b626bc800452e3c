// Package pagerduty pages on-call people through the PagerDuty Events API v2
// (https://developer.pagerduty.com/docs/events-api-v2/overview/): a user's failure of a
// workflow triggers an alert whose dedup_key is "<workflowId>:<subjectId>", and the same
// user's later completion of the workflow resolves it; a quarantine triggers a critical
// alert that the release resolves, a disabled workflow a warning that enabling resolves.
//
// PagerDuty cannot be read back, but it deduplicates on dedup_key: a trigger sent again
// after a lost answer lands on the alert the first one opened, and a resolve sent again
// is dropped. Delivery through the stage's ledger is at least once, and so exactly once
// in effect.
package pagerduty
