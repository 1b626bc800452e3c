package slack

// The buttons of failure messages, and the value each carries back to lcwnotify when
// it is clicked. The interaction handler (notify/slack/interact) decodes the value; it
// trusts none of it, and checks every id against Graph before it acts.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
	"github.com/lcwnotify/lcwnotify/notify"
)

// Action ids of lcwnotify's buttons, as block_actions payloads name them. Nothing else
// in lcwnotify's messages is interactive; the interaction handler ignores other ids.
const (
	// ActionIDRerunFailedTasks re-runs the failed tasks of one result
	// (events.RerunFailedTasks).
	ActionIDRerunFailedTasks = "lcw_rerun_failed_tasks"
	// ActionIDRerunWorkflow runs the whole workflow again for the result's user
	// (events.RerunWorkflow).
	ActionIDRerunWorkflow = "lcw_rerun_workflow"
	// ActionIDRerunFailedUsers re-runs the failed tasks of every failed user of one run
	// (events.RerunFailedUsers).
	ActionIDRerunFailedUsers = "lcw_rerun_failed_users"
)

// Texts of the buttons: what they do, in the words of the contract.
const (
	ButtonRerunFailedTasks = "Re-run failed tasks"
	ButtonRerunWorkflow    = "Re-run workflow for user"
	ButtonRerunFailedUsers = "Re-run failed users of this run"
)

// ActionsBlockPrefix starts the block_id of every actions block lcwnotify renders.
const ActionsBlockPrefix = "lcw_actions."

// Slack's limits on buttons and confirmation dialogs.
const (
	// MaxActionValue is the longest value a button may carry.
	MaxActionValue = 2000
	maxConfirmText = 300
	// maxValueID bounds each id in a value: Graph's ids are far shorter (a result id,
	// the longest, is about 150 characters).
	maxValueID = 256
	// maxValueLabel bounds the display names a value carries, in characters.
	maxValueLabel = 80
	// maxConfirmName bounds each name quoted in a confirmation dialog.
	maxConfirmName = 100
)

// actionValueVersion is the version of the value's format. A value of a later version
// (a newer lcwnotify posted the message) is refused with a clear error.
const actionValueVersion = 1

// ActionTarget is the failure the buttons of a message act on.
type ActionTarget struct {
	// WorkflowID is required; ResultID for the buttons of one result, RunID for those of
	// a run.
	WorkflowID string
	ResultID   string
	// SubjectID is the result's user; the handler refuses a click whose result has
	// another user in Graph.
	SubjectID string
	RunID     string
	// EventID is the change event that reported the failure, for the audit trail.
	EventID string
	// WorkflowName and UserName are shown in the confirmation dialogs and in what the
	// clicker is told; they are carried in the value, shortened, for display only.
	WorkflowName string
	UserName     string
}

// ActionValue is what a clicked button's value carries back, with the action its
// action id names. It comes from Slack and is not trusted: every id must be checked
// against Graph before anything is done with it.
type ActionValue struct {
	// Action is events.RerunFailedTasks, events.RerunWorkflow or
	// events.RerunFailedUsers.
	Action string
	ActionTarget
}

// actionIDs maps each action id to its action.
var actionIDs = map[string]string{
	ActionIDRerunFailedTasks: events.RerunFailedTasks,
	ActionIDRerunWorkflow:    events.RerunWorkflow,
	ActionIDRerunFailedUsers: events.RerunFailedUsers,
}

// ActionOf returns the action a button's action id names, and whether it is one of
// lcwnotify's.
func ActionOf(actionID string) (string, bool) {
	a, ok := actionIDs[actionID]
	return a, ok
}

// ActionsBlock returns the buttons for a failure: "Re-run failed tasks" and "Re-run
// workflow for user" for one result, or with forRun the single "Re-run failed users of
// this run" for a message covering many users of one run. Each asks for confirmation
// in a dialog naming the user and the workflow (escaped like all text from Graph). It
// returns nil when t lacks the ids the buttons need (a workflow, and the result or the
// run) or they cannot fit in a button's value: leave the buttons out then.
func ActionsBlock(t ActionTarget, forRun bool) slack.Block {
	var buttons []slack.BlockElement
	if forRun {
		b := button(ActionIDRerunFailedUsers, ButtonRerunFailedUsers, t, "Re-run failed users?",
			fmt.Sprintf("Re-run the failed tasks of every user who failed in this run of %s? Users who succeeded are left alone.",
				workflowLabel(t)), "Re-run failed users")
		if b == nil {
			return nil
		}
		buttons = append(buttons, b)
	} else {
		tasks := button(ActionIDRerunFailedTasks, ButtonRerunFailedTasks, t, "Re-run failed tasks?",
			fmt.Sprintf("Re-run the failed tasks of %s in %s? Only the tasks that failed run again, for this user only.",
				userLabel(t), workflowLabel(t)), "Re-run failed tasks")
		whole := button(ActionIDRerunWorkflow, ButtonRerunWorkflow, t, "Re-run the workflow?",
			fmt.Sprintf("Run every task of %s again for %s? Tasks that already succeeded run again too.",
				workflowLabel(t), userLabel(t)), "Re-run workflow")
		if tasks == nil || whole == nil {
			return nil
		}
		buttons = append(buttons, tasks, whole)
	}
	return slack.NewActionBlock(actionsBlockID(t, forRun), buttons...)
}

// button is one button with its confirmation dialog, or nil when its value cannot be
// encoded.
func button(actionID, text string, t ActionTarget, title, question, confirm string) *slack.ButtonBlockElement {
	value, err := EncodeActionValue(actionIDs[actionID], t)
	if err != nil {
		return nil
	}
	b := slack.NewButtonBlockElement(actionID, value, plain(text))
	b.Confirm = slack.NewConfirmationBlockObject(plain(title), plain(clip(question, maxConfirmText)), plain(confirm), plain("Cancel"))
	return b
}

// actionsBlockID names an actions block after its target, so that the blocks of a
// message that shows several results have distinct ids, as Slack requires.
func actionsBlockID(t ActionTarget, forRun bool) string {
	h := sha256.New()
	for _, s := range []string{t.WorkflowID, t.ResultID, t.RunID, fmt.Sprint(forRun)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return ActionsBlockPrefix + hex.EncodeToString(h.Sum(nil)[:8])
}

func userLabel(t ActionTarget) string {
	switch {
	case t.UserName != "":
		return clip(escape(t.UserName), maxConfirmName)
	case t.SubjectID != "":
		return "user " + clip(escape(t.SubjectID), maxConfirmName)
	}
	return "this user"
}

func workflowLabel(t ActionTarget) string {
	if t.WorkflowName != "" {
		return "workflow " + clip(escape(t.WorkflowName), maxConfirmName)
	}
	return "workflow " + clip(escape(t.WorkflowID), maxConfirmName)
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

// clip shortens escaped text to at most limit characters (as Slack counts them),
// never inside an entity, marking the cut with an ellipsis.
func clip(s string, limit int) string {
	if textLen(s) <= limit {
		return s
	}
	cut := cutIndex(s, limit-1)
	if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && !strings.Contains(s[amp:cut], ";") {
		cut = amp
	}
	return s[:cut] + "…"
}

// wireValue is the value's JSON: short keys, as it travels in every message.
type wireValue struct {
	V        int    `json:"v"`
	Workflow string `json:"w"`
	Result   string `json:"r,omitempty"`
	Subject  string `json:"s,omitempty"`
	Run      string `json:"u,omitempty"`
	Event    string `json:"e,omitempty"`
	WfName   string `json:"wn,omitempty"`
	UserName string `json:"un,omitempty"`
}

// EncodeActionValue returns the value of action's button for t: versioned JSON, at
// most MaxActionValue characters. With every id at its longest (maxValueID) and both
// display names shortened to maxValueLabel characters that JSON must all escape, a
// value holds about 1,700 characters, so it always fits; the names would be dropped
// first if it ever did not. It fails when an id the action needs is missing or is not
// an id.
func EncodeActionValue(action string, t ActionTarget) (string, error) {
	w := wireValue{V: actionValueVersion, Workflow: t.WorkflowID, Result: t.ResultID, Subject: t.SubjectID,
		Run: t.RunID, Event: t.EventID, WfName: label(t.WorkflowName), UserName: label(t.UserName)}
	if err := w.check(action); err != nil {
		return "", err
	}
	v, err := w.encode()
	if err == nil && utf8.RuneCountInString(v) > MaxActionValue {
		w.WfName, w.UserName = "", ""
		v, err = w.encode()
	}
	return v, err
}

// encode writes w compactly: without HTML escaping, which would make each of <, > and
// & six characters long.
func (w *wireValue) encode() (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return "", fmt.Errorf("slack: encode action value: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// label bounds a display name carried in a value.
func label(s string) string {
	s = notify.Clean(s)
	if utf8.RuneCountInString(s) <= maxValueLabel {
		return s
	}
	r := []rune(s)
	return string(r[:maxValueLabel-1]) + "…"
}

// ErrActionValue reports a button value that is not one of lcwnotify's, or that it
// cannot read: made by a newer version, altered, or truncated.
var ErrActionValue = errors.New("slack: not a value of lcwnotify's buttons")

// DecodeActionValue reads the value of the button with actionID. It checks the form
// only (the version, the ids the action needs, their length and characters); whether
// the ids name a failure in Graph is for the caller to check.
func DecodeActionValue(actionID, value string) (ActionValue, error) {
	action, ok := actionIDs[actionID]
	if !ok {
		return ActionValue{}, fmt.Errorf("%w: unknown action id", ErrActionValue)
	}
	if len(value) > 4*MaxActionValue || !utf8.ValidString(value) {
		return ActionValue{}, fmt.Errorf("%w: too long or not UTF-8", ErrActionValue)
	}
	var w wireValue
	if err := json.Unmarshal([]byte(value), &w); err != nil {
		return ActionValue{}, fmt.Errorf("%w: not JSON", ErrActionValue)
	}
	switch {
	case w.V > actionValueVersion:
		return ActionValue{}, fmt.Errorf("%w: version %d, made by a newer lcwnotify", ErrActionValue, w.V)
	case w.V != actionValueVersion:
		return ActionValue{}, fmt.Errorf("%w: no version", ErrActionValue)
	}
	if err := w.check(action); err != nil {
		return ActionValue{}, fmt.Errorf("%w: %v", ErrActionValue, err)
	}
	return ActionValue{Action: action, ActionTarget: ActionTarget{
		WorkflowID: w.Workflow, ResultID: w.Result, SubjectID: w.Subject, RunID: w.Run, EventID: w.Event,
		WorkflowName: label(w.WfName), UserName: label(w.UserName),
	}}, nil
}

// check reports whether w holds the ids action needs, each of a plausible form.
func (w *wireValue) check(action string) error {
	if w.Workflow == "" {
		return errors.New("no workflow id")
	}
	switch action {
	case events.RerunFailedTasks, events.RerunWorkflow:
		if w.Result == "" {
			return errors.New("no result id")
		}
	case events.RerunFailedUsers:
		if w.Run == "" {
			return errors.New("no run id")
		}
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	for name, id := range map[string]string{"workflow": w.Workflow, "result": w.Result, "subject": w.Subject, "run": w.Run, "event": w.Event} {
		if id != "" && !validValueID(id) {
			return fmt.Errorf("the %s id is not an id", name)
		}
	}
	return nil
}

// validValueID accepts the characters Graph's and lcwnotify's ids are made of (GUIDs,
// workflowId_ticks, result ids of several parts joined by '_', lcw1-… event ids) and
// refuses anything that could be more than an id in a URL path or a log line.
func validValueID(s string) bool {
	if len(s) > maxValueID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':' || c == '~') {
			return false
		}
	}
	return true
}

// EscapeText makes text inert in Slack mrkdwn as every text from Graph is: it can
// neither mention, link nor format. For replies that quote such text.
func EscapeText(s string) string { return escape(s) }
