package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/smithy-go"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/notifystate"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/legacyrule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// noticeLog is a notifier that takes notices and digests, as report.SNS
// does, and fails its next `fail` publishes.
type noticeLog struct {
	notices []report.Notice
	digests []report.Digest
	fail    int
}

func (n *noticeLog) Notify(context.Context, *report.Decision) error {
	return errors.New("a notice notifier gets notices, not decisions")
}

func (n *noticeLog) NotifyNotice(_ context.Context, nt *report.Notice) error {
	if n.fail > 0 {
		n.fail--
		return errors.New("sns: throttled")
	}
	n.notices = append(n.notices, *nt)
	return nil
}

func (n *noticeLog) NotifyDigest(_ context.Context, d *report.Digest) error {
	n.digests = append(n.digests, *d)
	return nil
}

// summary is "resource: rule=event, …" per notice.
func (n *noticeLog) summary() []string {
	var out []string
	for _, nt := range n.notices {
		var parts []string
		for _, it := range nt.Items {
			parts = append(parts, it.Decision.Rule+"="+it.Event)
		}
		out = append(out, nt.Items[0].Decision.Resource+": "+strings.Join(parts, ", "))
	}
	n.notices = nil
	return out
}

func statefulEngine(t *testing.T, cfg Config, rules ...rule.Rule) (*Engine, *noticeLog, *evals, *notifystate.Memory) {
	t.Helper()
	e, _, ev := newEngine(t, cfg, false, rules...)
	n, st := &noticeLog{}, notifystate.NewMemory()
	e.Notifier, e.State = n, st
	return e, n, ev, st
}

func withEventID(raw []byte, id string) []byte {
	return []byte(strings.Replace(string(raw), `"eventID":"ev-1"`, fmt.Sprintf("%q:%q", "eventID", id), 1))
}

// Three rules that overlap on one resource: one message listing the three,
// and nothing more on a retry or the next event in the same state.
func TestOneMessagePerResourceListsEveryRule(t *testing.T) {
	a, b, c := newFake("sg-open-world"), newFake("restricted-ssh"), newFake("restricted-common-ports")
	for _, f := range []*fakeRule{a, b, c} {
		f.state["sg-1"] = true
	}
	e, n, _, _ := statefulEngine(t, Config{Mode: Report}, a, b, c)
	ctx := context.Background()
	if _, err := e.Handle(ctx, call("sg-1", alice, opsRole, "")); err != nil {
		t.Fatal(err)
	}
	if got := n.summary(); fmt.Sprint(got) != "[sg-1: sg-open-world=new violation, restricted-ssh=new violation, restricted-common-ports=new violation]" {
		t.Fatalf("notices %v", got)
	}
	for _, ev := range []string{"ev-1", "ev-2"} { // a Lambda retry, then another event
		res, err := e.Handle(ctx, withEventID(call("sg-1", alice, opsRole, ""), ev))
		if err != nil {
			t.Fatal(err)
		}
		if got := n.summary(); len(got) != 0 {
			t.Fatalf("%s notified again: %v", ev, got)
		}
		if a := res.Decisions[0].Actions[2]; a.API != rule.AlertAPI || a.Outcome != rule.NoOp {
			t.Fatalf("alert of a repeat: %+v", a)
		}
	}
}

func TestSubjectAndMessageOfAGroupedNotice(t *testing.T) {
	a, b := newFake("sg-open-world"), newFake("restricted-ssh")
	a.state["sg-1"], b.state["sg-1"] = true, true
	a.meta.Severity = rule.Critical
	e, n, _, _ := statefulEngine(t, Config{Mode: Enforce}, a, b)
	if _, err := e.Handle(context.Background(), call("sg-1", alice, opsRole, "")); err != nil {
		t.Fatal(err)
	}
	if len(n.notices) != 1 {
		t.Fatalf("%d notices", len(n.notices))
	}
	nt := &n.notices[0]
	if s := report.NoticeSubject(nt); s != "Rampart [critical] 2 rules on sg-1: remediated" {
		t.Fatalf("subject %q", s)
	}
	msg := report.NoticeMessage(nt)
	for _, want := range []string{"Rules:     sg-open-world, restricted-ssh", "Who:       " + alice, "account 123456789012, us-east-1",
		"1. sg-open-world (critical): REMEDIATED", "2. restricted-ssh (high): REMEDIATED", "applied test:Close on sg-1", "undo: test:Open"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

// A publish that fails fails the invocation; Lambda's retry sends it.
func TestFailedPublishIsSentOnRetry(t *testing.T) {
	f := newFake("fake")
	f.state["r1"] = true
	e, n, _, _ := statefulEngine(t, Config{Mode: Report}, f)
	n.fail = 1
	res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if !errors.Is(err, ErrFailed) || !strings.Contains(res.Decisions[0].Error, "throttled") {
		t.Fatalf("err %v, decision %+v", err, res.Decisions[0])
	}
	if a := res.Decisions[0].Actions[2]; a.Outcome != rule.Failed {
		t.Fatalf("alert %+v", a)
	}
	if _, err := e.Handle(context.Background(), call("r1", alice, opsRole, "")); err != nil {
		t.Fatal(err)
	}
	if got := n.summary(); fmt.Sprint(got) != "[r1: fake=new violation]" {
		t.Fatalf("retry: %v", got)
	}
	if _, err := e.Handle(context.Background(), call("r1", alice, opsRole, "")); err != nil {
		t.Fatal(err)
	}
	if got := n.summary(); len(got) != 0 {
		t.Fatalf("second retry: %v", got)
	}
}

// The transitions through the engine: remediation, a re-open Rampart fixes
// again, an exemption starting and ending, a resolution by someone else.
func TestTransitionsThroughTheEngine(t *testing.T) {
	f := newFake("fake")
	e, n, _, _ := statefulEngine(t, Config{Mode: Enforce}, f)
	ctx := context.Background()
	step := func(ev string, want string) {
		t.Helper()
		if _, err := e.Handle(ctx, withEventID(call("r1", alice, opsRole, ""), ev)); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(n.summary()); got != want {
			t.Fatalf("%s: %s, want %s", ev, got, want)
		}
	}
	step("e0", "[]") // compliant, first sight
	f.state["r1"] = true
	step("e1", "[r1: fake=remediated]")
	step("e2", "[]") // compliant again: Rampart's fix confirmed
	f.state["r1"] = true
	step("e3", "[r1: fake=remediated]") // re-opened by someone, fixed again: news
	f.state["r1"] = true
	f.tags["r1"] = map[string]string{DefaultExemptTag: "lab; owner=team@example.com; expires=" + e.Now().AddDate(0, 0, 30).Format(time.DateOnly)}
	step("e4", "[r1: fake=exemption started]")
	step("e5", "[]")
	delete(f.tags, "r1")
	e.cfg.Mode = Report
	step("e6", "[r1: fake=exemption ended]")
	step("e7", "[]")
	f.state["r1"] = false
	step("e8", "[r1: fake=resolved]")
}

type accessDenied struct{ *fakeRule }

func (accessDenied) Evaluate(context.Context, *awsclient.Session, rule.Target, rule.Params) (rule.Finding, error) {
	return rule.Finding{}, fmt.Errorf("describe: %w", &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"})
}

// After N consecutive failures (distinct invocations; a retry counts once)
// Config gets NOT_APPLICABLE with an annotation, and a human one message.
func TestPersistentErrorsAreAnnotatedAndAlertedOnce(t *testing.T) {
	r := accessDenied{newFake("fake")}
	e, n, ev, _ := statefulEngine(t, Config{Mode: Report, Notify: NotifyConfig{FailureLimit: 3}}, r)
	invoke := func(minute int) {
		t.Helper()
		raw := strings.Replace(string(configInvocation("ConfigurationItemChangeNotification", item("r1", "OK"), "{}")),
			"11:30:00.000Z", fmt.Sprintf("11:%02d:00.000Z", minute), 1)
		if _, err := e.Handle(context.Background(), []byte(raw)); !errors.Is(err, ErrFailed) {
			t.Fatalf("err %v", err)
		}
	}
	for _, m := range []int{1, 1, 2} { // the second is a retry of the first
		invoke(m)
	}
	if len(ev.got) != 0 || len(n.notices) != 0 {
		t.Fatalf("before the limit: evaluations %+v notices %+v", ev.got, n.summary())
	}
	invoke(3)
	if len(ev.got) != 1 || ev.got[0].ComplianceType != cfgtypes.ComplianceTypeNotApplicable ||
		!strings.Contains(*ev.got[0].Annotation, "cannot evaluate") || !strings.Contains(*ev.got[0].Annotation, "AccessDenied") {
		t.Fatalf("evaluations %+v", ev.got)
	}
	if got := n.summary(); fmt.Sprint(got) != "[r1: fake=cannot evaluate]" {
		t.Fatalf("notices %v", got)
	}
	invoke(4)
	if len(ev.got) != 2 || len(n.notices) != 0 {
		t.Fatalf("after the limit: %d evaluations, notices %v", len(ev.got), n.summary())
	}
}

func TestDigestOneMessagePerAccount(t *testing.T) {
	e, n, _, st := statefulEngine(t, Config{Mode: Report})
	ctx := context.Background()
	for i, k := range []notifystate.Key{
		{Account: "111111111111", Region: "us-east-1", Rule: "sg-open-world", Resource: "sg-1"},
		{Account: "111111111111", Region: "us-east-1", Rule: "restricted-ssh", Resource: "sg-1"},
		{Account: "111111111111", Region: "us-east-1", Rule: "ebs-encrypted", Resource: "vol-1"},
		{Account: "222222222222", Region: "us-east-1", Rule: "sg-open-world", Resource: "sg-9"},
		{Account: "222222222222", Region: "us-east-1", Rule: "ebs-encrypted", Resource: "vol-9"}, // closed below
	} {
		if _, err := st.Observe(ctx, notifystate.Observation{Key: k, State: notifystate.Violation, EventID: "e", Reason: "open", Now: now}); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			if _, err := st.Observe(ctx, notifystate.Observation{Key: k, State: notifystate.Compliant, EventID: "f", Now: now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tick := `{"version":"0","id":"d1","detail-type":"Scheduled Event","source":"aws.events","account":"111111111111","time":"2026-11-26T08:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:111111111111:rule/rampart-digest"],"detail":{}}`
	res, err := e.Handle(ctx, []byte(tick))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.digests) != 2 || n.digests[0].Account != "111111111111" || len(n.digests[0].Items) != 3 || len(n.digests[1].Items) != 1 {
		t.Fatalf("digests %+v", n.digests)
	}
	if len(n.notices) != 0 || len(res.Decisions) != 1 || !strings.Contains(res.Decisions[0].Reason, "sent 2 of 2") {
		t.Fatalf("decisions %+v", res.Decisions)
	}
	msg := report.DigestMessage(&n.digests[0])
	for _, want := range []string{"restricted-ssh (", "us-east-1 sg-1: violation since 2026-11-26: open", "ebs-encrypted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("digest lacks %q:\n%s", want, msg)
		}
	}
	if s := report.DigestSubject(&n.digests[0]); s != "Rampart daily digest 2026-11-26: 3 open findings in 111111111111" {
		t.Errorf("subject %q", s)
	}
}

func TestNotifyEnv(t *testing.T) {
	env := map[string]string{EnvStateTable: "rampart-state", EnvDigestRegions: "us-east-1, eu-west-1", EnvFailureLimit: "5"}
	c, err := FromEnv(func(k string) string { return env[k] })
	if err != nil || c.Notify.StateTable != "rampart-state" || !slices.Equal(c.Notify.DigestRegions, []string{"us-east-1", "eu-west-1"}) || c.Notify.FailureLimit != 5 {
		t.Fatalf("%+v %v", c.Notify, err)
	}
	c, _ = FromEnv(func(string) string { return "" })
	if c.Notify.StateTable != "" || c.Notify.FailureLimit != DefaultFailureLimit {
		t.Fatalf("defaults %+v", c.Notify)
	}
	env[EnvFailureLimit] = "0"
	if _, err := FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a zero failure limit was accepted")
	}
}

// Overlapping Config rules are invoked one by one about one change: the
// first to see a transition sends; the others fold into its message. The
// CloudTrail event's message is sent even when Config came first: it says
// who did it.
func TestOverlappingConfigRulesFoldIntoOneMessage(t *testing.T) {
	a, b, c := newFake("a"), newFake("b"), newFake("c")
	e, n, _, st := statefulEngine(t, Config{Mode: Report}, a, b, c)
	invoke := func(ruleID, resource, related string) {
		t.Helper()
		it := fmt.Sprintf(`{"resourceType":"AWS::Test::Thing","resourceId":%q,"configurationItemStatus":"OK","configurationItemCaptureTime":"2026-11-26T11:00:00.000Z","relatedEvents":[%s]}`, resource, related)
		raw := strings.Replace(string(configInvocation("ConfigurationItemChangeNotification", it, "{}")), `"configRuleName":"rampart-fake"`,
			`"accountId":"123456789012","configRuleName":"rampart-`+ruleID+`"`, 1)
		if _, err := e.Handle(context.Background(), []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []*fakeRule{a, b, c} {
		f.state["r1"], f.state["r2"] = true, true
	}
	for _, id := range []string{"a", "b", "c"} {
		invoke(id, "r1", "")
	}
	if got := n.summary(); fmt.Sprint(got) != "[r1: a=new violation]" {
		t.Fatalf("config only: %v", got)
	}
	// Config first, then the CloudTrail event that made the change.
	for _, id := range []string{"a", "b"} {
		invoke(id, "r2", `"ev-1"`)
	}
	if got := n.summary(); fmt.Sprint(got) != "[r2: a=new violation]" {
		t.Fatalf("config before the event: %v", got)
	}
	if _, err := e.Handle(context.Background(), call("r2", alice, opsRole, "")); err != nil {
		t.Fatal(err)
	}
	if got := n.summary(); fmt.Sprint(got) != "[r2: c=new violation]" {
		t.Fatalf("the event after config: %v", got)
	}
	// Folded transitions are settled: tomorrow's repeats are silent.
	for _, id := range []string{"a", "b", "c"} {
		invoke(id, "r1", `"ev-9"`)
	}
	if got := n.summary(); len(got) != 0 {
		t.Fatalf("repeats: %v", got)
	}
	if rec, ok := st.Get(notifystate.Key{Account: "123456789012", Region: "us-east-1", Rule: "b", Resource: "r1"}); !ok || !rec.Notified || rec.State != notifystate.Violation {
		t.Fatalf("folded record %+v %v", rec, ok)
	}
}

// Bind adapts the fake (legacyrule.Adapt).
func (f accessDenied) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(f).Bind(p) }

// A service event (Health, Trusted Advisor, a finding) has an origin like
// any trigger: its account, region and EventBridge ID, kept across Lambda
// retries, so a retried event is silent once its message went out.
func TestOriginOfAServiceEvent(t *testing.T) {
	t.Parallel()
	tr, err := trigger.Decode([]byte(`{"version":"0","id":"ev-1","detail-type":"GuardDuty Finding","source":"aws.guardduty",
		"account":"123456789012","time":"2026-03-15T06:52:09Z","region":"eu-west-1","resources":[],"detail":{"id":"f"}}`))
	if err != nil {
		t.Fatal(err)
	}
	o := originOf(tr, awsclient.NewOffline("us-east-1"))
	if o.account != "123456789012" || o.region != "eu-west-1" || o.eventID != "ev-1" || o.cause != "event:ev-1" {
		t.Fatalf("origin = %+v", o)
	}
}
