package teams

import (
	"bytes"
	"encoding/json"
)

// The message a Workflows webhook takes, and the Adaptive Card in it
// (https://adaptivecards.io/explorer/): only the elements lcwnotify uses.

// Envelope and card constants.
const (
	messageType     = "message"
	CardContentType = "application/vnd.microsoft.card.adaptive"
	cardSchema      = "http://adaptivecards.io/schemas/adaptive-card.json"
	// CardVersion is the Adaptive Card version sent: the newest Teams renders.
	CardVersion = "1.5"
)

// envelope is the request body.
type envelope struct {
	Type        string       `json:"type"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"`
	Content     card    `json:"content"`
}

type card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"`
	Version string    `json:"version"`
	Body    []element `json:"body"`
	Actions []action  `json:"actions,omitempty"`
	MSTeams msteams   `json:"msteams"`
}

// msteams widens the card to the channel's width: lists of users read better.
type msteams struct {
	Width string `json:"width"`
}

// element is a TextBlock or a Container of them.
type element struct {
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	Wrap      bool      `json:"wrap,omitempty"`
	Weight    string    `json:"weight,omitempty"`
	Size      string    `json:"size,omitempty"`
	Color     string    `json:"color,omitempty"`
	IsSubtle  bool      `json:"isSubtle,omitempty"`
	Spacing   string    `json:"spacing,omitempty"`
	Separator bool      `json:"separator,omitempty"`
	Style     string    `json:"style,omitempty"`
	Items     []element `json:"items,omitempty"`
}

type action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// text is a wrapping TextBlock of markdown.
func text(md string) element {
	return element{Type: "TextBlock", Text: md, Wrap: true}
}

// title is a card's first line.
func title(md, color string) element {
	return element{Type: "TextBlock", Text: md, Wrap: true, Weight: "Bolder", Size: "Medium", Color: color}
}

// subtle is a small grey line: the card's context.
func subtle(md string) element {
	return element{Type: "TextBlock", Text: md, Wrap: true, IsSubtle: true, Size: "Small", Spacing: "Small"}
}

func openURL(title, url string) action {
	return action{Type: "Action.OpenUrl", Title: title, URL: url}
}

// encode returns the request body carrying c: compact JSON, with <, > and & as they are
// (Go's default escapes them as six bytes each, which the card's size would pay for).
func encode(c card) []byte {
	c.Schema, c.Type, c.Version, c.MSTeams = cardSchema, "AdaptiveCard", CardVersion, msteams{Width: "Full"}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// A card of strings, slices and structs always encodes.
	_ = enc.Encode(envelope{Type: messageType, Attachments: []attachment{{ContentType: CardContentType, Content: c}}})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// size is the bytes an element adds to a card's body, its comma included.
func size(e element) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e)
	return buf.Len() // the newline Encode adds stands for the comma
}
