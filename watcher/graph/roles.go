package graph

import (
	"context"
	"fmt"
	"slices"
)

// PermissionActivate is the least privileged application permission that lets an app
// run workflows on demand (activate, activateWithScope).
const PermissionActivate = "LifecycleWorkflows-Workflow.Activate"

// Permissions returns the permissions the client's access token carries: the app
// roles of its "roles" claim (application permissions, app-only tokens) and the scopes
// of its "scp" claim (delegated tokens, such as a developer's Azure CLI login).
//
// The token is decoded without verifying it, so the answer is advisory: it is what
// Entra put in the token when it was issued, and Graph alone decides what a request
// may do (a permission granted a minute ago is in the next token, not this one; a
// revoked one may linger until the token expires). Use it to warn early, as
// `lcwnotify check` does, never to skip a request or to trust one.
func (c *Client) Permissions(ctx context.Context) ([]string, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	tc, err := readClaims(tok)
	if err != nil {
		return nil, fmt.Errorf("graph: read the token's permissions: %w", err)
	}
	return tc.permissions(), nil
}

// CanActivate reports whether the access token carries a permission that allows
// activate and activateWithScope (PermissionActivate or a broader one), as far as
// the unverified token tells: advisory, see Permissions.
func (c *Client) CanActivate(ctx context.Context) (bool, error) {
	perms, err := c.Permissions(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range perms {
		if slices.Contains(covers[PermissionActivate], p) {
			return true, nil
		}
	}
	return false, nil
}
