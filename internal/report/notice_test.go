package report

import (
	"strings"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/rule"
)

func TestNoticeSubjectOrdersEventsBySeverityAndFits(t *testing.T) {
	t.Parallel()
	ds := sample()
	low := Decision{Rule: "required-tags", Severity: rule.Low, Resource: "sg-1", Verdict: rule.Compliant}
	n := &Notice{Account: "123456789012", Region: "us-east-1", Items: []NoticeItem{
		{Event: "resolved", Decision: &low},
		{Event: "remediated", Decision: &ds[0]},
		{Event: "remediation failed", Decision: &ds[1]},
	}}
	if s := NoticeSubject(n); s != "Rampart [high] 2 rules on sg-1: remediation failed, remediated, resolved" {
		t.Fatalf("subject %q", s)
	}
	if got := n.Rules(); strings.Join(got, ",") != "required-tags,sg-open-world" {
		t.Fatalf("rules %v", got)
	}
	msg := NoticeMessage(n)
	for _, want := range []string{"Who:       arn:aws:iam::123456789012:user/mallory", "1. required-tags (low): RESOLVED",
		"2. sg-open-world (high): REMEDIATED", "3. sg-open-world (-): REMEDIATION FAILED", "(error: throttled)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	long := *n
	d := ds[0]
	d.Resource = strings.Repeat("x", 200)
	long.Items = []NoticeItem{{Event: "new violation", Decision: &d}}
	if len(NoticeSubject(&long)) > 100 {
		t.Fatal("subject longer than SNS allows")
	}
}

func TestDigestListsByRuleOldestFirst(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	d := &Digest{Account: "123456789012", Day: day, More: true, Items: []DigestItem{
		{Region: "eu-west-1", Rule: "sg-open-world", Resource: "sg-2", Severity: "high", State: "violation", Reason: "b", Since: day.Add(-time.Hour)},
		{Region: "us-east-1", Rule: "ebs-encrypted", Resource: "vol-1", Severity: "medium", State: "failed", Reason: "c", Since: day},
		{Region: "us-east-1", Rule: "sg-open-world", Resource: "sg-1", Severity: "high", State: "violation", Reason: "a", Since: day.Add(-48 * time.Hour)},
	}}
	msg := DigestMessage(d)
	i1, i2, i3 := strings.Index(msg, "vol-1"), strings.Index(msg, "sg-1"), strings.Index(msg, "sg-2")
	if i1 < 0 || i1 >= i2 || i2 >= i3 || !strings.Contains(msg, "and more") {
		t.Fatalf("digest order:\n%s", msg)
	}
	if s := DigestSubject(d); s != "Rampart daily digest 2026-11-27: 3+ open findings in 123456789012" {
		t.Fatalf("subject %q", s)
	}
}
