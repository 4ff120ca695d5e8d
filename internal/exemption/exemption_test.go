package exemption

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]Tag{
		"legacy bastion; owner=ops@example.com; expires=2027-01-31": {"legacy bastion", "ops@example.com", "2027-01-31"},
		" Owner = ops ; EXPIRES=2027-01-31 ; why; more ":            {"why; more", "ops", "2027-01-31"},
		"":             {"no reason given", "", ""},
		"owner=":       {"no reason given", "", ""},
		"a=b; owner=x": {"a=b", "x", ""},
	} {
		if got := Parse(v); got != want {
			t.Errorf("Parse(%q) = %+v, want %+v", v, got, want)
		}
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC)
	cases := []struct {
		value   string
		maxDays int
		status  Status
		why     string
	}{
		{"r; owner=o; expires=2027-02-24", 90, Honoured, ""},
		{"r; owner=o; expires=2027-02-24T23:59:59Z", 90, Honoured, ""},
		{"r; owner=o; expires=2027-02-25", 90, Invalid, "expiry 2027-02-25 is beyond the 90-day horizon (2027-02-24)"},
		{"r; owner=o; expires=2026-11-27", 1, Honoured, ""},
		{"r; owner=o; expires=2026-11-28", 1, Invalid, "expiry 2026-11-28 is beyond the 1-day horizon (2026-11-27)"},
		{"r; owner=o; expires=2026-11-26", 0, Honoured, ""},
		{"r; owner=o; expires=2026-11-25", 90, Expired, "expired on 2026-11-25"},
		{"r; owner=o; expires=2026-11-26T23:00:00Z", 90, Expired, "expired on 2026-11-26T23:00:00Z"},
		{"r; owner=o; expires=next week", 90, Invalid, `unreadable expiry "next week" (want YYYY-MM-DD or RFC 3339)`},
		{"r; expires=2027-01-01", 90, Invalid, "no owner"},
		{"r; owner=o", 90, Invalid, "no expiry"},
		{"r", 90, Invalid, "no owner, no expiry"},
	}
	for _, tc := range cases {
		s, why := Judge(Parse(tc.value), now, tc.maxDays)
		if s != tc.status || why != tc.why {
			t.Errorf("Judge(%q, %d) = %v %q, want %v %q", tc.value, tc.maxDays, s, why, tc.status, tc.why)
		}
	}
}
