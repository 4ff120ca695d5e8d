package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/legacyrule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// fakeRule is a rule whose state is a map: the engine's logic is tested
// here without AWS; the real rules are tested against moto in their packages.
type fakeRule struct {
	meta      rule.Meta
	state     map[string]bool // resource → violating
	tags      map[string]map[string]string
	applied   []string
	failOn    string // an API that fails
	noopOn    string // an API that reports nothing to do
	panicEval bool
	targetErr error
	evaluated int
	mu        sync.Mutex // sweeps decide concurrently
}

func newFake(id string) *fakeRule {
	return &fakeRule{meta: rule.Meta{ID: id, Title: id, Severity: rule.High, ResourceType: "AWS::Test::Thing", Function: "test",
		CloudTrail:  []rule.CloudTrailTrigger{{Source: "test.amazonaws.com", Events: []string{"Open"}}},
		Config:      &rule.ConfigTrigger{ResourceTypes: []string{"AWS::Test::Thing"}, Frequency: rule.OneHour},
		Schedule:    "rate(1 hour)",
		Params:      []rule.Param{{Name: "limit", Default: "5", Check: checkInt}},
		ReadActions: []string{"test:Describe"}, WriteActions: []string{"test:Close", "test:Fix"}},
		state: map[string]bool{}, tags: map[string]map[string]string{}}
}

func checkInt(s string) error {
	var n int
	_, err := fmt.Sscan(s, &n)
	return err
}

func (f *fakeRule) Meta() *rule.Meta { return &f.meta }

func (f *fakeRule) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
	if f.targetErr != nil {
		return nil, f.targetErr
	}
	return []rule.Target{{Type: "AWS::Test::Thing", ID: string(call.Request)[1 : len(call.Request)-1], Call: call}}, nil
}

func (f *fakeRule) Evaluate(_ context.Context, s *awsclient.Session, t rule.Target, _ rule.Params) (rule.Finding, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evaluated++
	if f.panicEval {
		panic("boom")
	}
	if !f.state[t.ID] && !s.Offline {
		return rule.Finding{Verdict: rule.Compliant, Reason: "closed", Tags: f.tags[t.ID]}, nil
	}
	undo := rule.NewAction("test:Open", t.ID, "reopen", map[string]string{"id": t.ID}, nil)
	return rule.Finding{Verdict: rule.Violation, Reason: "open", Tags: f.tags[t.ID], Actions: []rule.Action{
		rule.NewAction("test:Close", t.ID, "close it", map[string]string{"id": t.ID}, &undo),
		rule.NewAction("test:Fix", t.ID, "fix it", map[string]string{"id": t.ID}, nil),
		rule.Alert(t.ID, "it was open"),
	}}, nil
}

func (f *fakeRule) Apply(_ context.Context, _ *awsclient.Session, a rule.Action) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, a.API+" "+a.Target)
	switch a.API {
	case f.failOn:
		return errors.New("throttled")
	case f.noopOn:
		return fmt.Errorf("gone: %w", rule.ErrNoOp)
	case "test:Close":
		f.state[a.Target] = false
	case "test:Open":
		f.state[a.Target] = true
	}
	return nil
}

func (f *fakeRule) Sweep(context.Context, *awsclient.Session, rule.Params) ([]rule.Target, error) {
	var out []rule.Target
	for id := range f.state {
		out = append(out, rule.Target{Type: "AWS::Test::Thing", ID: id})
	}
	return out, nil
}

type notes struct {
	mu   sync.Mutex
	sent []string
}

func (n *notes) Notify(_ context.Context, d *report.Decision) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, d.Rule+" "+d.Resource)
	return nil
}

type evals struct {
	token string
	got   []cfgtypes.Evaluation
}

func (e *evals) PutEvaluations(_ context.Context, token string, ev []cfgtypes.Evaluation) error {
	e.token, e.got = token, append(e.got, ev...)
	return nil
}

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func newEngine(t *testing.T, cfg Config, offline bool, rules ...rule.Rule) (*Engine, *notes, *evals) {
	t.Helper()
	s := &awsclient.Session{Region: "us-east-1"}
	if offline {
		s = awsclient.NewOffline("us-east-1")
	}
	e, err := New(cfg, s, rules...)
	if err != nil {
		t.Fatal(err)
	}
	n, ev := &notes{}, &evals{}
	e.Notifier, e.Evaluator, e.Now = n, ev, func() time.Time { return now }
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	return e, n, ev
}

func call(resource, actor, issuer, errorCode string) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":%q,"accountId":"123456789012",
		"sessionContext":{"sessionIssuer":{"type":"Role","arn":%q,"userName":"x"}}},"eventTime":"2026-11-26T11:00:00Z",
		"eventSource":"test.amazonaws.com","eventName":"Open","awsRegion":"us-east-1","errorCode":%q,"userAgent":"aws-sdk-go-v2/1.0 app/rampart",
		"requestParameters":%q,"eventID":"ev-1","recipientAccountId":"123456789012"}`, actor, issuer, errorCode, resource)
}

const (
	alice       = "arn:aws:sts::123456789012:assumed-role/ops/alice"
	opsRole     = "arn:aws:iam::123456789012:role/ops"
	rampartARN  = "arn:aws:sts::123456789012:assumed-role/rampart-test/123"
	rampartRole = "arn:aws:iam::123456789012:role/rampart-test"
)

func TestEnforceAppliesInOrderAndNotifies(t *testing.T) {
	f := newFake("fake")
	f.state["r1"] = true
	e, n, _ := newEngine(t, Config{Mode: Enforce}, false, f)
	res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if err != nil {
		t.Fatal(err)
	}
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Mode != "enforce" || d.Resource != "r1" {
		t.Fatalf("decision %+v", d)
	}
	outcomes := []rule.Outcome{d.Actions[0].Outcome, d.Actions[1].Outcome, d.Actions[2].Outcome}
	if fmt.Sprint(outcomes) != "[applied applied applied]" {
		t.Fatalf("outcomes %v", outcomes)
	}
	if strings.Join(f.applied, ",") != "test:Close r1,test:Fix r1" || len(n.sent) != 1 {
		t.Fatalf("applied %v, notified %v", f.applied, n.sent)
	}
}

func TestGuards(t *testing.T) {
	cases := []struct {
		name      string
		cfg       Config
		payload   []byte
		verdict   rule.Verdict
		reason    string
		evaluated bool
	}{
		{"failed call", Config{Mode: Enforce}, call("r1", alice, opsRole, "Client.DryRunOperation"), rule.Ignored, "the call failed (Client.DryRunOperation)", false},
		{"own role by issuer ARN", Config{Mode: Enforce, OwnRoles: []string{opsRole}}, call("r1", alice, opsRole, ""), rule.Ignored, "Rampart's own role", false},
		{"an assumed-role ARN naming Rampart's role is not enough", Config{Mode: Enforce, OwnRoles: []string{rampartRole}}, call("r1", rampartARN, opsRole, ""), rule.Violation, "named like Rampart's role", true},
		{"a forged user agent is not Rampart", Config{Mode: Enforce, OwnRoles: []string{rampartRole}}, call("r1", alice, opsRole, ""), rule.Violation, "open", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("fake")
			f.state["r1"] = true
			e, n, _ := newEngine(t, tc.cfg, false, f)
			res, err := e.Handle(context.Background(), tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			d := res.Decisions[0]
			if d.Verdict != tc.verdict || !strings.Contains(d.Reason, tc.reason) || (f.evaluated > 0) != tc.evaluated {
				t.Fatalf("decision %+v evaluated=%d", d, f.evaluated)
			}
			if !tc.evaluated && (len(f.applied) > 0 || len(n.sent) > 0) {
				t.Fatal("an ignored call led to actions")
			}
		})
	}
}

func TestBadTargetsStopEveryRuleBeforeAnyCall(t *testing.T) {
	good, bad := newFake("good"), newFake("bad")
	good.state["r1"] = true
	bad.targetErr = fmt.Errorf("%w: groupId missing", trigger.ErrInput)
	e, _, _ := newEngine(t, Config{Mode: Enforce}, false, good, bad)
	if _, err := e.Handle(context.Background(), call("r1", alice, opsRole, "")); !errors.Is(err, trigger.ErrInput) {
		t.Fatalf("err = %v", err)
	}
	if good.evaluated+bad.evaluated != 0 || len(good.applied) != 0 {
		t.Fatal("a rule acted on an event another rule rejected")
	}
}

func TestExemptions(t *testing.T) {
	// now is 2026-11-26; the default horizon (90 days) ends with 2027-02-24.
	cases := []struct {
		name     string
		tag      string
		list     []Exemption
		listOnly bool
		maxDays  int
		exempt   string // "", "tag" or "list"
		reason   string // in the decision's reason
	}{
		{"tag with owner and expiry", "legacy bastion; owner=ops@example.com; expires=2027-01-31", nil, false, 0, "tag", "exempt by tag rampart:exempt: legacy bastion (owner ops@example.com, until 2027-01-31)"},
		{"tag on the last day of the horizon", "lab; owner=ops; expires=2027-02-24", nil, false, 0, "tag", "until 2027-02-24"},
		{"tag expiring today", "today; owner=ops; expires=2026-11-26", nil, false, 0, "tag", "exempt by tag"},
		{"tag with an RFC 3339 expiry", "lab; owner=ops; expires=2026-12-01T00:00:00Z", nil, false, 0, "tag", "exempt by tag"},
		{"tag without owner", "vendor appliance; expires=2027-01-01", nil, false, 0, "", "exemption tag rampart:exempt ignored: no owner; finding: open"},
		{"tag without expiry", "vendor appliance; owner=ops", nil, false, 0, "", "exemption tag rampart:exempt ignored: no expiry; finding: open"},
		{"bare reason", "vendor appliance", nil, false, 0, "", "ignored: no owner, no expiry"},
		{"typo in the expiry", "lab; owner=ops; expires=2027-13-01", nil, false, 0, "", `ignored: unreadable expiry "2027-13-01"`},
		{"typo in the key", "lab; ownr=ops; expires=2027-01-01", nil, false, 0, "", "ignored: no owner"},
		{"beyond the horizon", "lab; owner=ops; expires=2031-01-01", nil, false, 0, "", "ignored: expiry 2031-01-01 is beyond the 90-day horizon"},
		{"one day beyond the horizon", "lab; owner=ops; expires=2027-02-25", nil, false, 0, "", "beyond the 90-day horizon"},
		{"a wider horizon", "lab; owner=ops; expires=2031-01-01", nil, false, 3650, "tag", "exempt by tag"},
		{"expired tag", "old; owner=ops@example.com; expires=2026-11-25", nil, false, 0, "", "exemption by tag rampart:exempt (owner ops@example.com: old) expired on 2026-11-25; finding: open"},
		{"tag on a list-only rule", "lab; owner=ops; expires=2027-01-01", nil, true, 0, "", "exemption tag rampart:exempt ignored: this rule accepts only checked-in exemptions; finding: open"},
		{"list entry", "", []Exemption{{Rule: "fake", Resource: "r1", Reason: "migration", Owner: "bob", Expires: "2027-01-01"}}, false, 0, "list", "exempt by the exemption list: migration (owner bob, until 2027-01-01)"},
		{"list entry beyond the tag horizon", "", []Exemption{{Rule: "fake", Resource: "r1", Reason: "migration", Owner: "bob", Expires: "2031-01-01"}}, false, 0, "list", "exempt by the exemption list"},
		{"list entry on a list-only rule", "", []Exemption{{Rule: "fake", Resource: "r1", Reason: "migration", Owner: "bob", Expires: "2027-01-01"}}, true, 0, "list", "exempt by the exemption list"},
		{"list entry despite an ignored tag", "lab", []Exemption{{Rule: "*", Resource: "r1", Reason: "migration", Owner: "bob", Expires: "2027-01-01"}}, false, 0, "list", "exempt by the exemption list"},
		{"list wildcard rule", "", []Exemption{{Rule: "*", Resource: "r1", Reason: "migration", Owner: "bob", Expires: "2027-01-01"}}, false, 0, "list", "exempt by the exemption list"},
		{"list other resource", "", []Exemption{{Rule: "fake", Resource: "r2", Reason: "x", Owner: "bob", Expires: "2027-01-01"}}, false, 0, "", "open"},
		{"expired list entry", "", []Exemption{{Rule: "fake", Resource: "r1", Reason: "x", Owner: "bob", Expires: "2026-01-01"}}, false, 0, "", "exemption by the exemption list (owner bob: x) expired on 2026-01-01; finding: open"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("fake")
			f.meta.ListExemptionsOnly = tc.listOnly
			f.state["r1"] = true
			if tc.tag != "" {
				f.tags["r1"] = map[string]string{DefaultExemptTag: tc.tag}
			}
			e, n, _ := newEngine(t, Config{Mode: Enforce, Exemptions: tc.list, ExemptMaxDays: tc.maxDays}, false, f)
			var metrics strings.Builder
			e.Metrics = &metrics
			res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
			if err != nil {
				t.Fatal(err)
			}
			d := res.Decisions[0]
			if !strings.Contains(d.Reason, tc.reason) || d.Exempt != tc.exempt {
				t.Fatalf("reason %q exempt %q, want %q in the reason and exempt %q", d.Reason, d.Exempt, tc.reason, tc.exempt)
			}
			if tc.exempt != "" {
				// Exempt: reported, not acted on, not notified on every evaluation.
				if d.Verdict != rule.NotApplicable || len(f.applied) != 0 || len(n.sent) != 0 {
					t.Fatalf("decision %+v applied %v notified %v", d, f.applied, n.sent)
				}
				if !strings.Contains(metrics.String(), `"Source":"`+tc.exempt+`"`) {
					t.Fatalf("no Exempt metric with Source %s: %s", tc.exempt, metrics.String())
				}
				return
			}
			// Not exempt: judged and remediated normally, and the
			// notification carries the reason saying why the exemption did not count.
			if d.Verdict != rule.Violation || len(f.applied) == 0 || len(n.sent) != 1 {
				t.Fatalf("decision %+v applied %v notified %v", d, f.applied, n.sent)
			}
		})
	}
}

func TestExemptMaxDaysFromEnv(t *testing.T) {
	for v, want := range map[string]int{"": 90, "30": 30, " 365 ": 365} {
		c, err := FromEnv(func(k string) string {
			if k == EnvExemptMaxDays {
				return v
			}
			return ""
		})
		if err != nil || c.ExemptMaxDays != want {
			t.Errorf("%q: %d %v, want %d", v, c.ExemptMaxDays, err, want)
		}
	}
	for _, v := range []string{"0", "-1", "ninety", "90d", "3651"} {
		if _, err := FromEnv(func(k string) string {
			if k == EnvExemptMaxDays {
				return v
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), EnvExemptMaxDays) {
			t.Errorf("%q accepted (%v)", v, err)
		}
	}
}

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		offline bool
		want    rule.Outcome
		alert   rule.Outcome
	}{
		{"report", Config{Mode: Report}, false, rule.Planned, rule.Applied},
		{"default is report", Config{}, false, rule.Planned, rule.Applied},
		{"rule override", Config{Mode: Report, RuleModes: map[string]Mode{"fake": Enforce}}, false, rule.Applied, rule.Applied},
		{"plan", Config{Mode: Enforce}, true, rule.Planned, rule.Planned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("fake")
			f.state["r1"] = true
			e, n, _ := newEngine(t, tc.cfg, tc.offline, f)
			res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
			if err != nil {
				t.Fatal(err)
			}
			d := res.Decisions[0]
			if d.Actions[0].Outcome != tc.want || d.Actions[2].Outcome != tc.alert {
				t.Fatalf("outcomes %s / alert %s", d.Actions[0].Outcome, d.Actions[2].Outcome)
			}
			if tc.want == rule.Planned && len(f.applied) != 0 {
				t.Fatalf("applied %v in %s", f.applied, tc.name)
			}
			if tc.offline && len(n.sent) != 0 {
				t.Fatal("offline plan notified")
			}
		})
	}
}

func TestFailuresSkipTheRestAndSurface(t *testing.T) {
	f := newFake("fake")
	f.state["r1"] = true
	f.failOn = "test:Close"
	e, n, _ := newEngine(t, Config{Mode: Enforce}, false, f)
	res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if !errors.Is(err, ErrFailed) || res == nil {
		t.Fatalf("err = %v", err)
	}
	a := res.Decisions[0].Actions
	if a[0].Outcome != rule.Failed || a[0].Error == "" || a[1].Outcome != rule.Skipped || len(n.sent) != 1 {
		t.Fatalf("actions %+v notified %v", a, n.sent)
	}

	f = newFake("fake")
	f.state["r1"] = true
	f.noopOn = "test:Close"
	e, _, _ = newEngine(t, Config{Mode: Enforce}, false, f)
	res, err = e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if err != nil || res.Decisions[0].Actions[0].Outcome != rule.NoOp {
		t.Fatalf("noop: %v %+v", err, res)
	}

	f = newFake("fake")
	f.panicEval = true
	e, _, _ = newEngine(t, Config{Mode: Enforce}, false, f)
	res, err = e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if !errors.Is(err, ErrFailed) || res.Decisions[0].Verdict != ErrorVerdict || !strings.Contains(res.Decisions[0].Error, "panicked") {
		t.Fatalf("panic: %v %+v", err, res)
	}
}

func TestAlertWithoutTopicIsSkipped(t *testing.T) {
	f := newFake("fake")
	f.state["r1"] = true
	e, _, _ := newEngine(t, Config{Mode: Enforce}, false, f)
	e.Notifier = nil
	res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Decisions[0].Actions[2]; a.Outcome != rule.Skipped || !strings.Contains(a.Error, EnvTopicARN) {
		t.Fatalf("alert %+v", a)
	}
}

func TestUndoReplaysInversesNewestFirst(t *testing.T) {
	f := newFake("fake")
	f.state["r1"], f.state["r2"] = true, true
	e, _, _ := newEngine(t, Config{Mode: Enforce}, false, f)
	var ds []report.Decision
	for _, r := range []string{"r1", "r2"} {
		res, err := e.Handle(context.Background(), call(r, alice, opsRole, ""))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, res.Decisions...)
	}
	f.applied = nil
	done, err := e.Undo(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.applied, ",") != "test:Open r2,test:Open r1" || len(done) != 2 || !f.state["r1"] || !f.state["r2"] {
		t.Fatalf("undo applied %v (%+v)", f.applied, done)
	}
}

func configInvocation(msg, item, params string) []byte {
	ie := fmt.Sprintf(`{"messageType":%q,"notificationCreationTime":"2026-11-26T11:30:00.000Z","configurationItem":%s}`, msg, item)
	return fmt.Appendf(nil, `{"invokingEvent":%q,"ruleParameters":%q,"resultToken":"TESTMODE","eventLeftScope":false,"configRuleName":"rampart-fake"}`, ie, params)
}

func item(id, status string) string {
	return fmt.Sprintf(`{"resourceType":"AWS::Test::Thing","resourceId":%q,"configurationItemStatus":%q,"configurationItemCaptureTime":"2026-11-26T11:00:00.000Z"}`, id, status)
}

func TestConfigPath(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		want    []cfgtypes.ComplianceType
		applied bool
		errIs   error
	}{
		{"change violating", configInvocation(trigger.MsgChange, item("r1", "OK"), "{}"), []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeNonCompliant}, true, nil},
		{"change compliant", configInvocation(trigger.MsgChange, item("r2", "OK"), "{}"), []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeCompliant}, false, nil},
		{"deleted", configInvocation(trigger.MsgChange, item("r1", "ResourceDeleted"), "{}"), []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeNotApplicable}, false, nil},
		{"not recorded", configInvocation(trigger.MsgChange, item("r1", "ResourceNotRecorded"), "{}"), []cfgtypes.ComplianceType{cfgtypes.ComplianceTypeNotApplicable}, false, nil},
		{"bad parameter", configInvocation(trigger.MsgChange, item("r1", "OK"), `{"limit":"many"}`), nil, false, trigger.ErrInput},
		{"unknown parameter", configInvocation(trigger.MsgChange, item("r1", "OK"), `{"nope":"1"}`), nil, false, trigger.ErrInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("fake")
			f.state["r1"], f.state["r2"] = true, false
			e, _, ev := newEngine(t, Config{Mode: Enforce}, false, f)
			_, err := e.Handle(context.Background(), tc.payload)
			if tc.errIs != nil {
				if !errors.Is(err, tc.errIs) || len(f.applied) != 0 || len(ev.got) != 0 {
					t.Fatalf("err = %v, applied %v, evaluations %d", err, f.applied, len(ev.got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []cfgtypes.ComplianceType
			for _, x := range ev.got {
				got = append(got, x.ComplianceType)
				if !x.OrderingTimestamp.Equal(time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)) {
					t.Errorf("ordering timestamp %v, want the capture time", x.OrderingTimestamp)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || (len(f.applied) > 0) != tc.applied || ev.token != trigger.TestModeToken {
				t.Fatalf("evaluations %v applied %v token %q", got, f.applied, ev.token)
			}
			if tc.applied && !strings.Contains(*ev.got[0].Annotation, "applied test:Close") {
				t.Fatalf("annotation %q does not say what Rampart did", *ev.got[0].Annotation)
			}
		})
	}
}

func TestScheduledAndSnapshot(t *testing.T) {
	f := newFake("fake")
	for i := range 5 {
		f.state[fmt.Sprint("r", i)] = i%2 == 0
	}
	e, _, ev := newEngine(t, Config{Mode: Report}, false, f)
	sched := `{"invokingEvent":"{\"messageType\":\"ScheduledNotification\",\"notificationCreationTime\":\"2026-11-26T11:30:00.000Z\"}","resultToken":"tok","configRuleName":"rampart-fake"}`
	res, err := e.Handle(context.Background(), []byte(sched))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Decisions) != 5 || len(ev.got) != 5 || len(f.applied) != 0 {
		t.Fatalf("decisions %d evaluations %d applied %v", len(res.Decisions), len(ev.got), f.applied)
	}
	snap := `{"invokingEvent":"{\"messageType\":\"ConfigurationSnapshotDeliveryCompleted\"}","configRuleName":"rampart-fake"}`
	ev.got = nil
	res, err = e.Handle(context.Background(), []byte(snap))
	if err != nil || res.Decisions[0].Verdict != rule.Ignored || len(ev.got) != 0 {
		t.Fatalf("snapshot: %v %+v", err, res)
	}
	tick := `{"version":"0","id":"t","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-26T00:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/rampart-fake-sweep"],"detail":{}}`
	res, err = e.Handle(context.Background(), []byte(tick))
	if err != nil || len(res.Decisions) != 5 {
		t.Fatalf("schedule: %v %+v", err, res)
	}
	other := strings.Replace(tick, "rampart-fake-sweep", "rampart-other-sweep", 1)
	res, err = e.Handle(context.Background(), []byte(other))
	if err != nil || len(res.Decisions) != 1 || res.Decisions[0].Verdict != rule.Ignored {
		t.Fatalf("other schedule: %v %+v", err, res)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := FromEnv(env(map[string]string{
		EnvMode: "ENFORCE", EnvRuleModes: "a=report, b=enforce", EnvParams: `{"a":{"x":"1"}}`,
		EnvOwnRoles: "arn:aws:iam::123456789012:role/r1, arn:aws:iam::123456789012:role/path/r2,", EnvTopicARN: "arn:aws:sns:us-east-1:123456789012:t",
		EnvExemptions: `[{"rule":"a","resource":"sg-1","reason":"lab","owner":"me","expires":"2027-01-01"}]`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != Enforce || c.ModeFor("a") != Report || c.ModeFor("b") != Enforce || c.ModeFor("c") != Enforce ||
		c.Params["a"]["x"] != "1" || len(c.OwnRoles) != 2 || len(c.Exemptions) != 1 || c.ExemptTag != DefaultExemptTag {
		t.Fatalf("%+v", c)
	}
	if c, _ := FromEnv(env(nil)); c.ModeFor("a") != Report {
		t.Fatal("the default mode must be report")
	}
	for name, kv := range map[string]map[string]string{
		"bad mode":              {EnvMode: "yolo"},
		"bad rule modes":        {EnvRuleModes: "a"},
		"bad params":            {EnvParams: "{"},
		"exemption w/o owner":   {EnvExemptions: `[{"rule":"a","resource":"x","reason":"r","expires":"2027-01-01"}]`},
		"exemption bad expiry":  {EnvExemptions: `[{"rule":"a","resource":"x","reason":"r","owner":"o","expires":"soon"}]`},
		"exemptions not a list": {EnvExemptions: `{}`},
	} {
		if _, err := FromEnv(env(kv)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNewRejectsBadParameters(t *testing.T) {
	f := newFake("fake")
	if _, err := New(Config{Params: map[string]map[string]string{"fake": {"limit": "x"}}}, awsclient.NewOffline("us-east-1"), f); err == nil {
		t.Fatal("bad deployment parameter accepted")
	}
	if _, err := New(Config{}, awsclient.NewOffline("us-east-1"), f, newFake("fake")); err == nil {
		t.Fatal("duplicate rule accepted")
	}
}

type housekeeping struct{ *fakeRule }

func (h housekeeping) Evaluate(context.Context, *awsclient.Session, rule.Target, rule.Params) (rule.Finding, error) {
	return rule.Finding{Verdict: rule.Compliant, Reason: "attached again", Actions: []rule.Action{
		rule.NewAction("test:Fix", "r1", "remove the marker tag", map[string]string{"id": "r1"}, nil)}}, nil
}

func TestHousekeepingOnCompliantFindings(t *testing.T) {
	f := newFake("fake")
	e, n, _ := newEngine(t, Config{Mode: Enforce}, false, housekeeping{f})
	res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if err != nil {
		t.Fatal(err)
	}
	d := res.Decisions[0]
	if d.Verdict != rule.Compliant || d.Actions[0].Outcome != rule.Applied || len(f.applied) != 1 || len(n.sent) != 0 {
		t.Fatalf("decision %+v applied %v notified %v", d, f.applied, n.sent)
	}
}

type quiet struct{ *fakeRule }

func (q quiet) Evaluate(context.Context, *awsclient.Session, rule.Target, rule.Params) (rule.Finding, error) {
	return rule.Finding{Verdict: rule.Violation, Reason: "failed attempt", Quiet: true}, nil
}

func TestQuietViolationsAreRecordedNotNotified(t *testing.T) {
	e, n, _ := newEngine(t, Config{Mode: Enforce}, false, quiet{newFake("fake")})
	res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Decisions[0]; d.Verdict != rule.Violation || len(n.sent) != 0 {
		t.Fatalf("decision %+v notified %v", d, n.sent)
	}
}

type expanding struct{ *fakeRule }

func (x expanding) Expand(_ context.Context, _ *awsclient.Session, t rule.Target, _ rule.Params) ([]rule.Target, error) {
	if t.ID == "fail" {
		return nil, errors.New("describe failed")
	}
	return []rule.Target{{Type: t.Type, ID: t.ID + "-a"}, {Type: t.Type, ID: t.ID + "-b"}}, nil
}

func TestExpandersJudgeEachResource(t *testing.T) {
	f := newFake("fake")
	f.state["r1-a"], f.state["r1-b"] = true, false
	f.tags["r1-b"] = map[string]string{DefaultExemptTag: "lab; owner=ops; expires=2027-01-01"}
	e, _, _ := newEngine(t, Config{Mode: Enforce}, false, expanding{f})
	res, err := e.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Decisions) != 2 || res.Decisions[0].Resource != "r1-a" || res.Decisions[0].Verdict != rule.Violation ||
		res.Decisions[1].Resource != "r1-b" || res.Decisions[1].Verdict != rule.NotApplicable || res.Decisions[0].Call == nil {
		t.Fatalf("decisions %+v", res.Decisions)
	}
	if strings.Join(f.applied, ",") != "test:Close r1-a,test:Fix r1-a" {
		t.Fatalf("applied %v", f.applied)
	}
	res, err = e.Handle(context.Background(), call("fail", alice, opsRole, ""))
	if !errors.Is(err, ErrFailed) || res.Decisions[0].Verdict != ErrorVerdict {
		t.Fatalf("expand failure: %v %+v", err, res)
	}
	// Offline, the target is judged as the event names it.
	off, _, _ := newEngine(t, Config{}, true, expanding{newFake("fake")})
	res, err = off.Handle(context.Background(), call("r1", alice, opsRole, ""))
	if err != nil || len(res.Decisions) != 1 || res.Decisions[0].Resource != "r1" {
		t.Fatalf("offline: %v %+v", err, res)
	}
}

// In organization mode only a function that sweeps in its region needs the
// fan-out queue: one without a sweep starts without it, one with a sweep
// refuses to start (its sweeps could not fan out) rather than sweep nothing.
func TestOrganizationSweepQueueOnlyWhereNeeded(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := FromEnv(env(map[string]string{EnvOrgID: "o-abcdef1234", EnvMemberRole: "rampart-member"}))
	if err != nil {
		t.Fatalf("organization mode without a queue: %v", err)
	}
	if _, err := FromEnv(env(map[string]string{EnvOrgID: "o-abcdef1234"})); err == nil {
		t.Error("organization mode without a member role accepted")
	}
	noSweep := newFake("no-sweep")
	noSweep.meta.Schedule = ""
	if _, err := New(c, awsclient.NewOffline("us-east-1"), noSweep); err != nil {
		t.Errorf("a function without a sweep: %v", err)
	}
	if _, err := New(c, awsclient.NewOffline("us-east-1"), newFake("sweeps")); err == nil || !strings.Contains(err.Error(), EnvSweepQueueURL) {
		t.Errorf("a function with a sweep and no queue: %v", err)
	}
}

// Bind adapts the fake (legacyrule.Adapt).
func (f *fakeRule) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(f).Bind(p) }

// Bind adapts the fake (legacyrule.Adapt).
func (h housekeeping) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(h).Bind(p) }

// Bind adapts the fake (legacyrule.Adapt).
func (q quiet) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(q).Bind(p) }

// Bind adapts the fake (legacyrule.Adapt).
func (x expanding) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(x).Bind(p) }
