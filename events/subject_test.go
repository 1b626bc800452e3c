package events

import (
	"errors"
	"testing"
)

func TestToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"14879e66-9ea9-48d0-804d-8fea672d0341", "14879e66-9ea9-48d0-804d-8fea672d0341"},
		{"failed", "failed"},
		{"", "_"},
		{"a.b", "a_b"},
		{"*", "_"},
		{">", "_"},
		{"a b\tc\r\n", "a_b_c__"},
		{"wf_1_20240501", "wf_1_20240501"},
		{"ünï", "__n__"},
	}
	for _, tt := range tests {
		if got := Token(tt.in); got != tt.want {
			t.Errorf("Token(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSubjects(t *testing.T) {
	if got, want := ResultSubject("lcw", "wf.1", "failed"), "lcw.result.wf_1.failed"; got != want {
		t.Errorf("ResultSubject = %q, want %q", got, want)
	}
	if got, want := ResultFilter("corp.lcw", "completedWithErrors"), "corp.lcw.result.*.completedWithErrors"; got != want {
		t.Errorf("ResultFilter = %q, want %q", got, want)
	}
	if got, want := ActionFilter("corp.lcw", ActionAccepted), "corp.lcw.action.*.accepted"; got != want {
		t.Errorf("ActionFilter = %q, want %q", got, want)
	}
	if got, want := DeadLetterSubject("lcw", "slack"), "lcw.dlq.slack"; got != want {
		t.Errorf("DeadLetterSubject = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []string{"lcw", "corp.lcw", "a-b_c"} {
		if err := ValidatePrefix(p); err != nil {
			t.Errorf("ValidatePrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"", ".", "lcw.", "a..b", "a*", "a>", "a b", "lcw.>"} {
		if err := ValidatePrefix(p); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ValidatePrefix(%q) = %v, want ErrInvalidConfig", p, err)
		}
	}
	for _, n := range []string{"LCW", "lcw_prod-2"} {
		if err := ValidateStreamName(n); err != nil {
			t.Errorf("ValidateStreamName(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range []string{"", "a.b", "a b", "x/y", "0123456789012345678901234567890123"} {
		if err := ValidateStreamName(n); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("ValidateStreamName(%q) = %v, want ErrInvalidConfig", n, err)
		}
	}
}
