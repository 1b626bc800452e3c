package graph

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// FuzzDecodeResultsPage feeds arbitrary bodies to the page and item decoders. They must
// never panic; what they accept must be valid JSON whose items are usable; and a
// truncated body is never accepted — no partial list passes as complete.
//
//	go test -run '^$' -fuzz FuzzDecodeResultsPage -fuzztime 60s ./watcher/graph/
func FuzzDecodeResultsPage(f *testing.F) {
	for _, name := range []string{"results_mixed.json", "task_results.json", "seed_get_result.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"value":[]}`))
	f.Add([]byte(`{"value":[{"id":"a","processingStatus":"failed","subject":{"id":"u"},"completedDateTime":"2024-05-01T10:00:00.1234567Z"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/x?$skiptoken=a"}`))
	f.Add([]byte(`{"value":[{"id":"\ud800","processingStatus":"\u0000","workflowVersion":1e400,"failedTasksCount":-0.0}]}`))
	f.Add([]byte(`{"value":[null,[],"",{"id":1}]}`))

	c, err := New(Options{Credential: NewStaticCredential("t")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		results, err := decodeResultsPage(t, c, body)
		if err != nil {
			if results != nil {
				t.Fatalf("error %v with %d results", err, len(results))
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		for _, r := range results {
			if r.ID == "" || r.ProcessingStatus == "" {
				t.Fatalf("accepted an item without id or status: %+v", r)
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, r.Raw); err != nil || !bytes.Equal(buf.Bytes(), r.Raw) {
				t.Fatalf("Raw %q is not compacted JSON", r.Raw)
			}
		}
		trimmed := bytes.TrimRight(body, " \t\r\n")
		for _, cut := range []int{len(trimmed) - 1, len(trimmed) / 2, 1} {
			if cut <= 0 || cut >= len(trimmed) {
				continue
			}
			if got, err := decodeResultsPage(t, c, trimmed[:cut]); err == nil {
				t.Fatalf("accepted %q, a truncation of %q, with %d results", trimmed[:cut], body, len(got))
			}
		}
	})
}

// decodeResultsPage is the decoding half of ListResults, plus the task decoder on the
// same items (another shape, same lenient rules).
func decodeResultsPage(t *testing.T, c *Client, body []byte) ([]UserProcessingResult, error) {
	p, err := decodePage(body)
	if err != nil {
		return nil, err
	}
	_ = appendItems(t.Context(), c, opListTaskResults, nil, p.items, decodeTaskResult)
	return appendItems(t.Context(), c, opListResults, nil, p.items, decodeResult), nil
}
