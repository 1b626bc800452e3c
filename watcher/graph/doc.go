// Package graph is a small typed client for the Microsoft Graph Lifecycle Workflows
// reporting API (identityGovernance/lifecycleWorkflows): workflows, runs,
// userProcessingResults, taskProcessingResults, summaries and the users they name.
//
// It talks net/http with tokens from an azcore.TokenCredential, honours Graph's
// throttling (fractional Retry-After included), follows @odata.nextLink only within the
// configured Graph root, sends Prefer: include-unknown-enum-members on every request and
// keeps enum values as the strings received. It deliberately is not msgraph-sdk-go: see
// docs/architecture.md.
package graph
