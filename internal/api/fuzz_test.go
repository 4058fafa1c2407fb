package api

import (
	"testing"
	"time"

	"reserver/internal/booking"
)

func FuzzDecodeBooking(f *testing.F) {
	f.Add([]byte(validBody))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"site":"ruled","account":{"username":"u","password":"p"},"court":"1","date":"2026-12-01","start":"10:00","end":"11:00","fields":{"people":"2"}}`))
	f.Add([]byte(`{"court":1e400}`))
	f.Add([]byte(`{"date":"2026-02-29","start":"23:59","end":"00:00"}`))
	f.Add([]byte(`{"phone":"+82 10-1234-5678","fields":{"a":true,"b":null}}`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(choiceBody("courtsim", `"choices": [{"court": "3"}, {"court": 4}, {"courts": "any", "start": "12:00", "end": "13:00"}], "priority": 1`)))
	f.Add([]byte(choiceBody("monthly", `"choices": [{"court": 7}, {"courts": "1-4", "date": "2026-12-11"}, {"courts": "2,3", "x": 1}]`)))
	f.Add([]byte(choiceBody("courtsim", `"choices": [{"court": 2}, {"court": "02"}, {"courts": "1-99"}, {"court": 1, "courts": "1"}], "priority": 101`)))
	lim := Limits{DefaultRate: 2, MaxRate: 2, DefaultWindow: 300, MinWindow: 10, MaxWindow: 3600}
	// The profile-backed sites (shorthands, courts, slots) and "ruled".
	fuzzSites := choiceSites(f)
	fuzzSites["ruled"] = sites["ruled"]
	f.Fuzz(func(t *testing.T, body []byte) {
		v, probs := decodeBooking(body, fuzzSites, lim, fixedNow)
		if len(probs) > 0 {
			for _, p := range probs {
				if p.Detail == "" {
					t.Fatalf("a problem without a detail: %+v", p)
				}
			}
			return
		}
		// Everything accepted must be something the daemon can run.
		if v.Site == "" || v.Username == "" || v.Password == "" || v.Court == "" {
			t.Fatalf("accepted without a required value: %+v", v)
		}
		if _, err := time.Parse("2006-01-02", v.Date); err != nil {
			t.Fatalf("accepted a bad date %q", v.Date)
		}
		if v.End <= v.Start {
			t.Fatalf("accepted end %q not after start %q", v.End, v.Start)
		}
		if !v.OpensAt.After(fixedNow) {
			t.Fatalf("accepted opens_at %v not in the future", v.OpensAt)
		}
		if v.Rate <= 0 || v.Rate > lim.MaxRate || v.Window < lim.MinWindow || v.Window > lim.MaxWindow {
			t.Fatalf("accepted rate %v window %v out of range", v.Rate, v.Window)
		}
		// The choices: one at least, at most booking.MaxChoices, the first
		// the booking's slot, each a slot the daemon can run, none twice.
		if len(v.Choices) < 1 || len(v.Choices) > booking.MaxChoices {
			t.Fatalf("accepted %d choices", len(v.Choices))
		}
		if first := (booking.Choice{Court: v.Court, Date: v.Date, Start: v.Start, End: v.End}); v.Choices[0] != first {
			t.Fatalf("choice 1 %v is not the booking's slot %v", v.Choices[0], first)
		}
		seen := map[booking.Choice]bool{}
		for _, c := range v.Choices {
			if _, err := time.Parse(time.DateOnly, c.Date); err != nil || c.Court == "" || c.End <= c.Start || seen[c] {
				t.Fatalf("accepted choice %+v of %v", c, v.Choices)
			}
			seen[c] = true
		}
		if v.Priority < 0 || v.Priority > 100 {
			t.Fatalf("accepted priority %d", v.Priority)
		}
	})
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"010-1234-5678", "+821012345678"},
		{"01012345678", "+821012345678"},
		{"010 1234 5678", "+821012345678"},
		{"+82 10-1234-5678", "+821012345678"},
		{"+82 010-1234-5678", "+821012345678"},
		{"82-10-1234-5678", "+821012345678"},
		{"011-123-4567", "+82111234567"},
		{"+14155550100", "+14155550100"},
		{"02-123-4567", ""},
		{"010-1234-567", ""},
		{"phone", ""},
		{"", ""},
		{"+0123", ""},
	}
	for _, tt := range tests {
		got, err := normalizePhone(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("normalizePhone(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("normalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
