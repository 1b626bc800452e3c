package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.history, []int{1000, 30000, 300000}) || !slices.Equal(o.burst, []int{300, 50}) ||
		!slices.Equal(o.phases, allPhases) || o.timeScale != 1 || o.baselineInterval() != time.Second {
		t.Errorf("defaults = %+v", o)
	}
	o, err = parseFlags([]string{"-phases", "burst", "-burst", "10, 5", "-time-scale", "10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.does(phaseBurst) || o.does(phasePoll) || !slices.Equal(o.burst, []int{10, 5}) || o.baselineInterval() != 100*time.Millisecond {
		t.Errorf("parsed = %+v", o)
	}

	for _, args := range [][]string{
		{"-phases", "poll,speed"},
		{"-history", "1000,x"},
		{"-burst", "0"},
		{"-time-scale", "0.5"},
		{"-polls", "1"},
		{"-adaptive-workflows", "0"},
		{"-adaptive-run", "1s"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error, want one", args)
		}
	}
}

func TestPercentile(t *testing.T) {
	l := &latencyResult{}
	for i := 1; i <= 50; i++ {
		l.samples = append(l.samples, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 25 * time.Millisecond}, {99, 50 * time.Millisecond}, {100, 50 * time.Millisecond}, {1, time.Millisecond}} {
		if got := l.percentile(tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{count(300000), "300 000"},
		{count(31), "31"},
		{count(1000), "1 000"},
		{size(18609), "18.2 kB"},
		{size(154425570), "147.3 MB"},
		{ratio(3011, 31), "97×"},
		{ratio(21, 31), "0.7×"},
		{ratio(1, 0), "–"},
		{secs(3100 * time.Millisecond), "3.10 s"},
		{secs(353800 * time.Millisecond), "353.8 s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestNaiveExtrapolation(t *testing.T) {
	// Measured at 10k and 100k: a fixed part of 100 requests and 1 per 100 results.
	poll := []pollCost{
		{history: 10_000, naiveRequests: 200, naiveBytes: 5e6, naiveTime: time.Second},
		{history: 100_000, naiveRequests: 1100, naiveBytes: 50e6, naiveTime: 10 * time.Second},
		{history: 1_000_000, naiveSkipped: true},
	}
	got := naiveAt(poll, poll[2])
	if got.from != 100_000 || got.requests != 10_100 || got.bytes != 500e6 || got.time != 100*time.Second {
		t.Errorf("extrapolated %+v, want 10 100 requests, 500 MB and 100 s from 100 000", got)
	}
	if got.mark("x") != "≈ x" {
		t.Errorf("an extrapolation is marked %q", got.mark("x"))
	}
	if got := naiveAt(poll, poll[0]); got.from != 0 || got.requests != 200 || got.mark("x") != "x" {
		t.Errorf("a measured size reads %+v", got)
	}
	one := []pollCost{{history: 1000, naiveRequests: 20, naiveBytes: 1000, naiveTime: time.Second}, {history: 3000, naiveSkipped: true}}
	if got := naiveAt(one, one[1]); got.requests != 60 || got.bytes != 3000 {
		t.Errorf("from one size, extrapolated %+v, want proportional: 60 requests, 3000 bytes", got)
	}
	if got := naiveAt(one[1:], one[1]); got.mark("x") != "not run" {
		t.Errorf("nothing measured reads %q, want not run", got.mark("x"))
	}
}
