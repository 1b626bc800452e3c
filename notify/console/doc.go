// Package console is the notifier the demo uses: it writes each notification as readable
// text, with the same content a Slack message carries, to an io.Writer such as a terminal.
package console
