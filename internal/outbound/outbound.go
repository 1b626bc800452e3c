// Package outbound holds the rules lcwnotify applies to the addresses it sends to: Graph,
// NATS listeners, and every notification destination.
package outbound

import (
	"net"
	"strings"
)

// IsLoopback reports whether host (a name or an IP address, without a port or brackets)
// is this machine: "localhost", or an address in 127.0.0.0/8 or ::1. Only loopback
// traffic may go in clear text, since nothing on the way can read it.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
