package report

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

func sample() []Decision {
	revoke := rule.NewAction("ec2:RevokeSecurityGroupIngress", "sg-1", "revoke tcp 22 from 0.0.0.0/0", map[string]string{"groupId": "sg-1"}, nil)
	undo := rule.NewAction("ec2:AuthorizeSecurityGroupIngress", "sg-1", "restore", map[string]string{"groupId": "sg-1"}, nil)
	revoke.Undo, revoke.Outcome = &undo, rule.Applied
	failed := revoke
	failed.Outcome, failed.Error = rule.Failed, "throttled"
	call := &trigger.APICall{EventID: "ev-1", EventName: "AuthorizeSecurityGroupIngress", EventSource: "ec2.amazonaws.com",
		Time: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), Region: "us-east-1", SourceIP: "198.51.100.7", UserAgent: "aws-cli/2.15.0",
		Actor: trigger.Actor{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/mallory", AccessKeyID: "AKIAEXAMPLE"}}
	return []Decision{
		{Rule: "sg-open-world", Severity: rule.High, Resource: "sg-1", ResourceType: "AWS::EC2::SecurityGroup", Verdict: rule.Violation,
			Reason: "the call opened tcp 22 from 0.0.0.0/0", Mode: "enforce", Actions: []rule.Action{revoke}, Call: call},
		{Rule: "sg-open-world", Resource: "sg-2", Verdict: rule.Violation, Mode: "enforce", Actions: []rule.Action{failed}},
		{Rule: "sg-open-world", Resource: "sg-3", Verdict: rule.NotApplicable, Reason: "exempt by tag rampart:exempt: lab", Exempt: "tag"},
		{Rule: "sg-open-world", Resource: "sg-4", Verdict: rule.NotApplicable, Reason: "exempt by the exemption list: lab", Exempt: "list"},
		{Rule: "sg-open-world", Resource: "sg-5", Verdict: rule.NotApplicable, Reason: "exemption tag rampart:exempt ignored: no owner; finding: gone"},
		{Rule: "cloudtrail-integrity", Resource: "trail", Verdict: rule.Compliant},
		{Verdict: rule.Ignored, Reason: "no rule"},
	}
}

func TestMetricsGolden(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteMetrics(&b, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), sample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "emf.golden", b.Bytes())
}

func TestTally(t *testing.T) {
	t.Parallel()
	c := Tally(sample())
	if c != (Count{Decisions: 7, Violations: 2, Remediated: 1, Failed: 1, Exempt: 2, Ignored: 1}) {
		t.Fatalf("%+v", c)
	}
}

func TestNotificationHasTheFiveWs(t *testing.T) {
	t.Parallel()
	d := sample()[0]
	msg := Message(&d)
	for _, want := range []string{
		"arn:aws:iam::123456789012:user/mallory", "AKIAEXAMPLE", "MFA no", // who
		"2026-11-26 10:00:00 UTC",           // when
		"ec2:AuthorizeSecurityGroupIngress", // what
		"198.51.100.7", "aws-cli/2.15.0",    // where from
		"AWS::EC2::SecurityGroup sg-1",                                                      // which resource
		"applied ec2:RevokeSecurityGroupIngress", "undo: ec2:AuthorizeSecurityGroupIngress", // what Rampart did
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if s := Subject(&d); s != "Rampart [high] sg-open-world on sg-1: remediated" {
		t.Errorf("subject %q", s)
	}
	failed := sample()[1]
	if s := Subject(&failed); !strings.Contains(s, "FAILED") {
		t.Errorf("subject %q", s)
	}
	long := d
	long.Resource = strings.Repeat("x", 200)
	if len(Subject(&long)) > 100 {
		t.Error("subject longer than SNS allows")
	}
}

func TestEvaluationAndAnnotation(t *testing.T) {
	t.Parallel()
	d := sample()[0]
	d.OrderingTime = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	e := Evaluation(&d)
	if e.ComplianceType != cfgtypes.ComplianceTypeNonCompliant || *e.ComplianceResourceId != "sg-1" || !e.OrderingTimestamp.Equal(d.OrderingTime) {
		t.Fatalf("%+v", e)
	}
	if !strings.Contains(*e.Annotation, "Rampart: applied ec2:RevokeSecurityGroupIngress") {
		t.Fatalf("annotation %q", *e.Annotation)
	}
	d.Reason = strings.Repeat("r", 400)
	if n := len(Annotation(&d)); n > MaxAnnotation {
		t.Fatalf("annotation of %d characters", n)
	}
	for v, want := range map[rule.Verdict]cfgtypes.ComplianceType{rule.Violation: cfgtypes.ComplianceTypeNonCompliant,
		rule.Compliant: cfgtypes.ComplianceTypeCompliant, rule.NotApplicable: cfgtypes.ComplianceTypeNotApplicable} {
		if got := ComplianceType(v); got != want {
			t.Errorf("%s → %s", v, got)
		}
	}
}

func TestWriteEventHasARuleAndAStackWideDimensionSet(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	if err := WriteEvent(&b, at, MetricNotifyFailed, "sg-open-world", 1); err != nil {
		t.Fatal(err)
	}
	if err := WriteEvent(&b, at, MetricRejected, "", 1); err != nil {
		t.Fatal(err)
	}
	golden(t, "events.golden", b.Bytes())
}

type flaky struct{ fails, calls int }

func (f *flaky) Notify(context.Context, *Decision) error {
	f.calls++
	if f.calls <= f.fails {
		return errors.New("unreachable")
	}
	return nil
}

func TestRetryNotifies(t *testing.T) {
	t.Parallel()
	d := sample()[0]
	for _, tc := range []struct {
		fails, calls int
		ok           bool
	}{{0, 1, true}, {2, 3, true}, {3, 3, false}} {
		f := &flaky{fails: tc.fails}
		err := (&Retry{Next: f, Backoff: time.Millisecond}).Notify(context.Background(), &d)
		if (err == nil) != tc.ok || f.calls != tc.calls {
			t.Errorf("fails %d: err %v after %d calls", tc.fails, err, f.calls)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &flaky{fails: 5}
	if err := (&Retry{Next: f, Backoff: time.Hour}).Notify(ctx, &d); err == nil || f.calls != 1 {
		t.Fatalf("a cancelled context waited: %v, %d calls", err, f.calls)
	}
}

// countingNotifier fails its first fails sends of every kind.
type countingNotifier struct{ fails, notices, digests int }

func (c *countingNotifier) Notify(context.Context, *Decision) error { return nil }
func (c *countingNotifier) NotifyNotice(context.Context, *Notice) error {
	c.notices++
	if c.notices <= c.fails {
		return errors.New("throttled")
	}
	return nil
}
func (c *countingNotifier) NotifyDigest(context.Context, *Digest) error {
	c.digests++
	if c.digests <= c.fails {
		return errors.New("throttled")
	}
	return nil
}

// The retry wrapper the engine puts around SNS keeps the grouped notices
// and the digest (they would otherwise fall back to one message per
// decision, or be lost), and retries them like single notifications.
func TestRetryKeepsNoticesAndDigests(t *testing.T) {
	t.Parallel()
	next := &countingNotifier{fails: 1}
	r := &Retry{Next: next, Backoff: time.Millisecond}
	var n Notifier = r
	nn, ok := n.(NoticeNotifier)
	dn, ok2 := n.(DigestNotifier)
	if !ok || !ok2 {
		t.Fatal("Retry hides the notice or digest notifier")
	}
	if err := nn.NotifyNotice(context.Background(), &Notice{}); err != nil || next.notices != 2 {
		t.Fatalf("notice: %v after %d sends", err, next.notices)
	}
	if err := dn.NotifyDigest(context.Background(), &Digest{}); err != nil || next.digests != 2 {
		t.Fatalf("digest: %v after %d sends", err, next.digests)
	}
}

func TestTruncateKeepsRunesWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 8, "abcde..."},
		{"ééééé", 8, "éé..."}, // 10 bytes; a cut at 5 would split the third é
		{"日本語のリソース", 10, "日本..."},
	} {
		got := Truncate(tc.in, tc.n)
		if got != tc.want || len(got) > tc.n || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
