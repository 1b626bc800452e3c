package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/lcwnotify/lcwnotify/events"
)

var testTarget = ActionTarget{
	WorkflowID:   "14879e66-9ea9-48d0-804d-8fea672d0341",
	ResultID:     "14879e66-9ea9-48d0-804d-8fea672d0341_3_14879e66-9ea9-48d0-804d-8fea672d0341_638888888888888888_ea09ac2e-77e3-4134-85f2-25ccf3c33387",
	SubjectID:    "ea09ac2e-77e3-4134-85f2-25ccf3c33387",
	RunID:        "14879e66-9ea9-48d0-804d-8fea672d0341_638888888888888888",
	EventID:      "lcw1-0123456789abcdef0123456789abcdef",
	WorkflowName: "Onboard new hires",
	UserName:     "Adele Vance",
}

func blockJSON(t *testing.T, b slack.Block) []byte {
	t.Helper()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestActionsBlockGolden(t *testing.T) {
	golden(t, "actions-result", blockJSON(t, ActionsBlock(testTarget, false)))
	golden(t, "actions-run", blockJSON(t, ActionsBlock(testTarget, true)))
}

// buttons returns the buttons of an actions block.
func buttons(t *testing.T, b slack.Block) []*slack.ButtonBlockElement {
	t.Helper()
	ab, ok := b.(*slack.ActionBlock)
	if !ok {
		t.Fatalf("block = %T, want *slack.ActionBlock", b)
	}
	var out []*slack.ButtonBlockElement
	for _, e := range ab.Elements.ElementSet {
		out = append(out, e.(*slack.ButtonBlockElement))
	}
	return out
}

// TestActionsBlockButtons: the buttons say what they do, ask for confirmation naming
// the user and the workflow, and carry back a value that decodes to their target.
func TestActionsBlockButtons(t *testing.T) {
	tests := []struct {
		name      string
		forRun    bool
		wantIDs   []string
		wantTexts []string
		wantNames []string // in every confirmation text
	}{
		{"result", false, []string{ActionIDRerunFailedTasks, ActionIDRerunWorkflow}, []string{ButtonRerunFailedTasks, ButtonRerunWorkflow}, []string{"Adele Vance", "Onboard new hires"}},
		{"run", true, []string{ActionIDRerunFailedUsers}, []string{ButtonRerunFailedUsers}, []string{"Onboard new hires"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := buttons(t, ActionsBlock(testTarget, tt.forRun))
			if len(bs) != len(tt.wantIDs) {
				t.Fatalf("%d buttons, want %d", len(bs), len(tt.wantIDs))
			}
			for i, b := range bs {
				if b.ActionID != tt.wantIDs[i] || b.Text.Text != tt.wantTexts[i] || b.Text.Type != slack.PlainTextType {
					t.Errorf("button %d = %s %q, want %s %q", i, b.ActionID, b.Text.Text, tt.wantIDs[i], tt.wantTexts[i])
				}
				if b.Confirm == nil || b.Confirm.Title == nil || b.Confirm.Confirm == nil || b.Confirm.Deny == nil {
					t.Fatalf("button %s has no complete confirmation dialog", b.ActionID)
				}
				for _, n := range tt.wantNames {
					if !strings.Contains(b.Confirm.Text.Text, n) {
						t.Errorf("confirmation %q does not name %q", b.Confirm.Text.Text, n)
					}
				}
				v, err := DecodeActionValue(b.ActionID, b.Value)
				if err != nil {
					t.Fatalf("value of %s: %v", b.ActionID, err)
				}
				want, _ := ActionOf(b.ActionID)
				if v.Action != want || v.ActionTarget != testTarget {
					t.Errorf("value decodes to %+v, want %s on %+v", v, want, testTarget)
				}
			}
		})
	}
	// Two results shown in one message get two blocks with distinct ids.
	other := testTarget
	other.ResultID += "x"
	a, b := ActionsBlock(testTarget, false).(*slack.ActionBlock), ActionsBlock(other, false).(*slack.ActionBlock)
	if a.BlockID == b.BlockID || !strings.HasPrefix(a.BlockID, ActionsBlockPrefix) {
		t.Errorf("block ids %q and %q: want distinct ids starting with %q", a.BlockID, b.BlockID, ActionsBlockPrefix)
	}
}

// TestActionsBlockEscapesGraphText: a display name cannot mention, link or format in a
// confirmation dialog, and Slack's limits hold whatever its length.
func TestActionsBlockEscapesGraphText(t *testing.T) {
	for _, s := range hostile(t) {
		tgt := ActionTarget{WorkflowID: s.Workflow.ID, ResultID: s.ResultID, SubjectID: "u-1", RunID: "run-1",
			WorkflowName: s.Workflow.DisplayName, UserName: s.User}
		for _, forRun := range []bool{false, true} {
			block := ActionsBlock(tgt, forRun)
			if block == nil {
				t.Fatalf("%s: no buttons", s.ResultID)
			}
			for _, b := range buttons(t, block) {
				text := b.Confirm.Text.Text
				if strings.ContainsAny(text, "<>*`") || textLen(text) > maxConfirmText || textLen(b.Confirm.Title.Text) > 100 ||
					textLen(b.Confirm.Confirm.Text) > 30 || textLen(b.Text.Text) > 75 {
					t.Errorf("%s: confirmation %q is not inert or too long", s.ResultID, text)
				}
				if utf8.RuneCountInString(b.Value) > MaxActionValue {
					t.Errorf("%s: value of %d characters", s.ResultID, utf8.RuneCountInString(b.Value))
				}
				if _, err := DecodeActionValue(b.ActionID, b.Value); err != nil {
					t.Errorf("%s: %v", s.ResultID, err)
				}
			}
		}
	}
}

// TestEncodeActionValueBounds: the longest ids and names fit in a button's value;
// missing or malformed ids leave the message without buttons.
func TestEncodeActionValueBounds(t *testing.T) {
	long := strings.Repeat("a", maxValueID)
	worst := strings.Repeat(`"`, 5000) // JSON doubles each
	tests := []struct {
		name      string
		target    ActionTarget
		wantErr   bool
		wantNames bool
	}{
		{"everything fits", testTarget, false, true},
		{"long names are shortened", ActionTarget{WorkflowID: "w", ResultID: "r", EventID: "e", WorkflowName: strings.Repeat("n", 5000), UserName: strings.Repeat("é", 5000)}, false, true},
		{"the longest ids and names", ActionTarget{WorkflowID: long, ResultID: long, SubjectID: long, RunID: long, EventID: long, WorkflowName: worst, UserName: worst}, false, true},
		{"no workflow", ActionTarget{ResultID: "r"}, true, false},
		{"no result", ActionTarget{WorkflowID: "w"}, true, false},
		{"an id with a space", ActionTarget{WorkflowID: "w 1", ResultID: "r"}, true, false},
		{"an id too long", ActionTarget{WorkflowID: long + "a", ResultID: "r"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := EncodeActionValue(events.RerunFailedTasks, tt.target)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if ActionsBlock(tt.target, false) != nil {
					t.Error("ActionsBlock rendered buttons whose value cannot be encoded")
				}
				return
			}
			if n := utf8.RuneCountInString(v); n > MaxActionValue {
				t.Errorf("value of %d characters, want at most %d", n, MaxActionValue)
			}
			got, err := DecodeActionValue(ActionIDRerunFailedTasks, v)
			if err != nil {
				t.Fatal(err)
			}
			if got.WorkflowID != tt.target.WorkflowID || got.ResultID != tt.target.ResultID || got.EventID != tt.target.EventID {
				t.Errorf("ids lost: %+v", got)
			}
			if hasNames := got.UserName != ""; hasNames != tt.wantNames {
				t.Errorf("names kept = %v, want %v", hasNames, tt.wantNames)
			}
		})
	}
}

func TestDecodeActionValueRefuses(t *testing.T) {
	good, err := EncodeActionValue(events.RerunFailedUsers, testTarget)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, actionID, value string
	}{
		{"unknown action id", "lcw_delete_everything", good},
		{"not JSON", ActionIDRerunFailedTasks, "rerun:wf-1"},
		{"no version", ActionIDRerunFailedTasks, `{"w":"wf","r":"r"}`},
		{"a newer version", ActionIDRerunFailedTasks, `{"v":2,"w":"wf","r":"r"}`},
		{"no workflow", ActionIDRerunFailedTasks, `{"v":1,"r":"r"}`},
		{"no result for a result's action", ActionIDRerunWorkflow, `{"v":1,"w":"wf","u":"run"}`},
		{"no run for the run's action", ActionIDRerunFailedUsers, `{"v":1,"w":"wf","r":"r"}`},
		{"a path in an id", ActionIDRerunFailedTasks, `{"v":1,"w":"../../users","r":"r"}`},
		{"a query in an id", ActionIDRerunFailedTasks, `{"v":1,"w":"wf?$expand=x","r":"r"}`},
		{"control characters", ActionIDRerunFailedTasks, "{\"v\":1,\"w\":\"wf\\u0000\",\"r\":\"r\"}"},
		{"not UTF-8", ActionIDRerunFailedTasks, "{\"v\":1,\"w\":\"wf\",\"r\":\"r\xff\"}"},
		{"an id of another type", ActionIDRerunFailedTasks, `{"v":1,"w":["wf"],"r":"r"}`},
		{"huge", ActionIDRerunFailedTasks, `{"v":1,"w":"wf","r":"r","un":"` + strings.Repeat("x", 9000) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := DecodeActionValue(tt.actionID, tt.value); !errors.Is(err, ErrActionValue) {
				t.Errorf("DecodeActionValue = %+v, %v; want ErrActionValue", v, err)
			}
		})
	}
}

// FuzzDecodeActionValue: no value panics the decoder; whatever it accepts has the ids
// its action needs, in a form safe for a URL path, and encodes back to an equal value.
func FuzzDecodeActionValue(f *testing.F) {
	for _, id := range []string{ActionIDRerunFailedTasks, ActionIDRerunWorkflow, ActionIDRerunFailedUsers} {
		a, _ := ActionOf(id)
		v, _ := EncodeActionValue(a, testTarget)
		f.Add(id, v)
	}
	f.Add(ActionIDRerunFailedTasks, `{"v":1,"w":"w","r":"r","un":"<!channel>"}`)
	f.Add("other", `{}`)
	f.Fuzz(func(t *testing.T, actionID, value string) {
		v, err := DecodeActionValue(actionID, value)
		if err != nil {
			if !errors.Is(err, ErrActionValue) {
				t.Fatalf("error %v is not ErrActionValue", err)
			}
			return
		}
		for _, id := range []string{v.WorkflowID, v.ResultID, v.SubjectID, v.RunID, v.EventID} {
			if id != "" && !validValueID(id) {
				t.Fatalf("accepted id %q", id)
			}
		}
		if v.WorkflowID == "" || (v.Action == events.RerunFailedUsers) == (v.RunID == "") && v.Action == events.RerunFailedUsers || v.Action != events.RerunFailedUsers && v.ResultID == "" {
			t.Fatalf("accepted %+v without the ids its action needs", v)
		}
		again, err := EncodeActionValue(v.Action, v.ActionTarget)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", v, err)
		}
		back, err := DecodeActionValue(actionID, again)
		if err != nil || back.WorkflowID != v.WorkflowID || back.ResultID != v.ResultID || back.RunID != v.RunID || back.SubjectID != v.SubjectID {
			t.Fatalf("round trip %+v → %+v, %v", v, back, err)
		}
	})
}
