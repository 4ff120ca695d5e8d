// Package exemption reads and judges the exemption tag's value, for the
// engine (which honours or ignores it) and for the exemption-tag rule (which
// reports who set it and whether it would be honoured). One parser and one
// judge, so the two can never disagree.
//
// It is pure: no AWS call, no knowledge of any rule. Which rules accept tag
// exemptions at all is rule.Meta.ListExemptionsOnly.
package exemption

import (
	"fmt"
	"strings"
	"time"
)

// DefaultMaxDays is how far ahead a tag's expiry may lie unless the
// deployment says otherwise (RAMPART_EXEMPT_MAX_DAYS).
const DefaultMaxDays = 90

// Tag is the exemption tag's value, "reason; owner=team@example.com;
// expires=2027-01-31", read apart.
type Tag struct {
	Reason  string
	Owner   string
	Expires string
}

// Parse reads a tag value. It never fails: Judge says what is missing.
func Parse(value string) Tag {
	var t Tag
	var reason []string
	for _, part := range strings.Split(value, ";") {
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		switch {
		case ok && strings.EqualFold(strings.TrimSpace(k), "owner"):
			t.Owner = strings.TrimSpace(v)
		case ok && strings.EqualFold(strings.TrimSpace(k), "expires"):
			t.Expires = strings.TrimSpace(v)
		case part != "":
			reason = append(reason, part)
		}
	}
	t.Reason = strings.Join(reason, "; ")
	if t.Reason == "" {
		t.Reason = "no reason given"
	}
	return t
}

// ParseExpiry reads YYYY-MM-DD (valid through that day, UTC) or RFC 3339.
func ParseExpiry(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24*time.Hour - time.Nanosecond), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("expires %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}

// Status is what Judge concludes about a tag.
type Status int

// Statuses. Only Honoured exempts.
const (
	Honoured Status = iota
	// Invalid: the value lacks an owner or an expiry, or its expiry is
	// unreadable or beyond the horizon. The resource is judged normally.
	Invalid
	// Expired: a once-valid exemption ran out; the resource is judged
	// normally and the decision says whose exemption expired.
	Expired
)

// Judge decides whether a tag exempts at now, with an expiry at most
// maxDays ahead (the end of that day, UTC). When it does not, why says so in
// a few words: "no owner", "no expiry", "unreadable expiry \"soon\"",
// "expiry 2031-01-01 is beyond the 90-day horizon", "expired on 2026-11-25".
func Judge(t Tag, now time.Time, maxDays int) (s Status, why string) {
	if maxDays <= 0 {
		maxDays = DefaultMaxDays
	}
	var missing []string
	if t.Owner == "" {
		missing = append(missing, "no owner")
	}
	if t.Expires == "" {
		missing = append(missing, "no expiry")
	}
	if len(missing) > 0 {
		return Invalid, strings.Join(missing, ", ")
	}
	exp, err := ParseExpiry(t.Expires)
	if err != nil {
		return Invalid, fmt.Sprintf("unreadable expiry %q (want YYYY-MM-DD or RFC 3339)", t.Expires)
	}
	if now.After(exp) {
		return Expired, "expired on " + t.Expires
	}
	day := now.UTC().Truncate(24 * time.Hour)
	horizon := day.AddDate(0, 0, maxDays+1).Add(-time.Nanosecond)
	if exp.After(horizon) {
		return Invalid, fmt.Sprintf("expiry %s is beyond the %d-day horizon (%s)", t.Expires, maxDays, horizon.Format(time.DateOnly))
	}
	return Honoured, ""
}
