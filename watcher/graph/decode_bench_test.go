package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lcwnotify/lcwnotify/events"
)

// benchPage returns a results page of n items shaped like Graph's (indented, as Graph
// pretty-prints nothing but proxies may), with a nextLink.
func benchPage(n int, next string) []byte {
	var b strings.Builder
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#identityGovernance/lifecycleWorkflows/workflows('14879e66-9ea9-48d0-804d-8fea672d0341')/userProcessingResults","value":[`)
	statuses := []string{"completed", "failed", "completedWithErrors", "inProgress", "queued", "quarantined"}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"14879e66-9ea9-48d0-804d-8fea672d0341_3_14879e66-9ea9-48d0-804d-8fea672d0341_638512345678901234_%08d-77e3-4134-85f2-25ccf3c33387",`+
			`"completedDateTime":"2024-05-01T23:28:11.1348863Z","failedTasksCount":%d,"processingStatus":%q,`+
			`"scheduledDateTime":"2024-05-01T23:28:01.6476554Z","startedDateTime":"2024-05-01T23:28:04.490313Z",`+
			`"totalTasksCount":4,"totalUnprocessedTasksCount":0,"workflowExecutionType":"scheduled","workflowVersion":3,`+
			`"subject":{"id":"%08d-77e3-4134-85f2-25ccf3c33387"}}`, i, i%2, statuses[i%len(statuses)], i)
	}
	b.WriteString(`]`)
	if next != "" {
		fmt.Fprintf(&b, `,"@odata.nextLink":%q`, next)
	}
	b.WriteString(`}`)
	return []byte(b.String())
}

const benchItems = 1000

// BenchmarkDecodeResultsPage measures decoding one page of 1000 results: the client's
// decoder (validation, leniency, Raw) against plain json.Unmarshal into tagged structs
// (strict, no Raw), the baseline.
func BenchmarkDecodeResultsPage(b *testing.B) {
	body := benchPage(benchItems, "")
	c, err := New(Options{Credential: NewStaticCredential("t")})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("client", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := decodePage(body)
			if err != nil {
				b.Fatal(err)
			}
			if got := appendItems(b.Context(), c, opListResults, nil, p.items, decodeResult); len(got) != benchItems {
				b.Fatalf("decoded %d results", len(got))
			}
		}
		b.ReportMetric(float64(b.N*benchItems)/b.Elapsed().Seconds(), "results/s")
	})
	b.Run("baseline-unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var page struct {
				Value []events.Result `json:"value"` // the same fields, strictly typed
			}
			if err := json.Unmarshal(body, &page); err != nil || len(page.Value) != benchItems {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchItems)/b.Elapsed().Seconds(), "results/s")
	})
}

// BenchmarkListResultsHTTP measures a whole list over loopback HTTP: 10 pages of 1000
// results, with the token, headers, paging and decoding.
func BenchmarkListResultsHTTP(b *testing.B) {
	const pages = 10
	var base string
	bodies := make([][]byte, pages)
	srv := newBenchServer(b, func(w http.ResponseWriter, r *http.Request) {
		i := 0
		fmt.Sscan(r.URL.Query().Get("$skiptoken"), &i)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bodies[i])
	})
	base = srv + "/v1.0/identityGovernance/lifecycleWorkflows/workflows/wf/userProcessingResults"
	for i := range pages {
		next := ""
		if i+1 < pages {
			next = fmt.Sprintf("%s?$skiptoken=%d", base, i+1)
		}
		bodies[i] = benchPage(benchItems, next)
	}
	c, err := New(Options{BaseURL: srv, Credential: NewStaticCredential("t")})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := c.ListResults(b.Context(), "wf", dateRange)
		if err != nil || len(got) != pages*benchItems {
			b.Fatalf("ListResults() = %d results, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(b.N*pages*benchItems)/b.Elapsed().Seconds(), "results/s")
}

func newBenchServer(b *testing.B, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}
