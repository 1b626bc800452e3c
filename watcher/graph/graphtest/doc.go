// Package graphtest provides a fake Microsoft Entra token authority, so that tests and
// load commands can run the real azidentity credentials against it, over TLS on
// loopback, with no Azure.
package graphtest
