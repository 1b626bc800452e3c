package events

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The decoders take whatever is on the stream: a message of another producer, a
// truncated one, garbage. None may panic; whatever they refuse must wrap ErrMalformed (a
// poison message, not a transient failure); and whatever they accept must validate,
// encode, and decode again to the same bytes, so that a consumer that forwards a
// decoded event forwards one that every consumer accepts. Seeds: the f.Add calls and
// testdata/fuzz/<target>. Run one with, e.g.:
//
//	go test -run '^$' -fuzz '^FuzzDecodeWorkflowEvent$' -fuzztime 60s ./events

// decoded is what every kind of event offers once decoded.
type decoded interface {
	Validate() error
	Marshal() ([]byte, error)
}

// fuzzDecoder checks decode's promises on in.
func fuzzDecoder[E decoded](t *testing.T, in []byte, decode func([]byte) (E, error)) {
	ev, err := decode(in)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("decode error %v does not wrap ErrMalformed", err)
		}
		return
	}
	if err := ev.Validate(); err != nil {
		t.Fatalf("decoded an event that does not validate: %v", err)
	}
	b, err := ev.Marshal()
	if err != nil {
		t.Fatalf("decoded an event that does not encode: %v", err)
	}
	again, err := decode(b)
	if err != nil {
		t.Fatalf("the decoded event, encoded, does not decode: %v\n%s", err, b)
	}
	b2, err := again.Marshal()
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("encoding is not stable: %s\nthen %s (%v)", b, b2, err)
	}
}

// addGolden adds the golden files of testdata to f's seeds.
func addGolden(f *testing.F, pattern string) {
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecode(f *testing.F) {
	addGolden(f, "event.golden.json")
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"data":{"userProcessingResult":null}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzDecoder(t, in, Decode)
		if ev, err := Decode(in); err == nil {
			if ev.ID == "" || ev.Data.Workflow.ID == "" {
				t.Fatalf("Decode accepted an event without id or workflow: %+v", ev)
			}
			if _, err := ev.Data.Result(); err != nil {
				t.Fatalf("Decode accepted an event whose result does not decode: %v", err)
			}
		}
	})
}

func FuzzDecodeWorkflowEvent(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"` + WorkflowType + `","subject":"wf-1","data":{"workflow":{"id":"wf-1"},"change":"quarantined","state":{"quarantineDetails":{"quarantineType":"countBasedThresholdExceeded","quarantinedDateTime":"2026-12-03T08:59:00Z"}}}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"` + WorkflowType + `","subject":"wf-1","data":{"workflow":{"id":"wf-1"},"change":"released","state":{"quarantineDetails":null,"nextScheduleRunDateTime":"2026-12-03T12:00:00+01:00"}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzDecoder(t, in, DecodeWorkflowEvent)
		if ev, err := DecodeWorkflowEvent(in); err == nil {
			if _, err := ev.Data.State.Quarantine(); err != nil {
				t.Fatalf("accepted quarantineDetails that do not decode: %v", err)
			}
		}
	})
}

func FuzzDecodeActionEvent(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"` + ActionType + `","subject":"upr-1","data":{"workflow":{"id":"wf-1"},"actionId":"a","kind":"accepted","action":"rerunFailedTasks","target":{"resultId":"upr-1","user":{"id":"u"}},"actor":{"via":"slack","id":"U1"},"at":"2026-12-03T09:00:00Z","graph":{"status":204},"message":{"sink":"slack","key":"C1","id":"1.2"}}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"` + ActionType + `","subject":"run-1","data":{"workflow":{"id":"wf-1"},"actionId":"a","kind":"refused","action":"rerunFailedUsers","target":{"runId":"run-1"},"actor":{"via":"slack","id":"U1"},"at":"0001-01-01T00:00:00Z","reason":"not allowed"}}`))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzDecoder(t, in, DecodeActionEvent) })
}

func FuzzDecodeDigestEvent(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"` + DigestType + `","subject":"2026-12-02T09:00:00Z","data":{"period":{"start":"2026-12-02T09:00:00Z","end":"2026-12-03T09:00:00Z","schedule":"daily@09:00","timeZone":"Europe/Paris"},"workflows":[{"workflow":{"id":"wf-1"},"state":{"quarantineDetails":null},"users":{"processed":3,"failed":1},"runs":{"total":1},"topReasons":[{"task":"t","reason":"r","count":1}],"unresolved":[{"resultId":"upr-1","user":{"id":"u"},"status":"failed"}],"unresolvedTotal":1}]}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"` + DigestType + `","subject":"s","data":{"period":{"start":"2026-12-02T09:00:00-12:00","end":"2026-12-02T09:00:00.000000001-12:00"},"workflows":null}}`))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzDecoder(t, in, DecodeDigestEvent) })
}
