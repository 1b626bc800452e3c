// Package graphtest provides a fake Microsoft Entra token authority, so that tests and
// load commands can run the real azidentity credentials against it, over TLS on
// loopback, with no Azure. It records token requests with their claims, issues
// CAE-capable tokens with roles, revokes tokens, and its Guard checks tokens in front
// of a Graph fake the way Graph does, with a claims challenge for a revoked one.
package graphtest
