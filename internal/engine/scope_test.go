package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/legacyrule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// where records the account and region of every session the rule was
// handed, so a test sees where the engine judged and acted.
type where struct {
	*fakeRule
	seen []string
}

func (w *where) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	w.seen = append(w.seen, "evaluate "+s.Account+"/"+s.Region)
	return w.fakeRule.Evaluate(ctx, s, t, p)
}

func (w *where) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	w.seen = append(w.seen, "apply "+s.Account+"/"+s.Region)
	return w.fakeRule.Apply(ctx, s, a)
}

func (w *where) Sweep(ctx context.Context, s *awsclient.Session, p rule.Params) ([]rule.Target, error) {
	w.seen = append(w.seen, "sweep "+s.Account+"/"+s.Region)
	return w.fakeRule.Sweep(ctx, s, p)
}

const alicePlain = `{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"}`

func scopeEngine(t *testing.T, org, global bool, listed *int) (*Engine, *where) {
	t.Helper()
	f := newFake("fake")
	f.meta.Global = global
	f.state["r1"] = true
	w := &where{fakeRule: f}
	s := &awsclient.Session{Region: "us-east-1", Account: home, Partition: "aws"}
	cfg := Config{Mode: Enforce, OwnRoles: []string{ownRole}, Regions: []string{"us-east-1", "eu-west-1"}}
	if org {
		cfg.OrgID, cfg.MemberRole, cfg.SweepQueueURL = "o-abcdefghij", "rampart/rampart-member", "https://sqs.us-east-1.amazonaws.com/123456789012/q"
	}
	e, err := New(cfg, s, w)
	if err != nil {
		t.Fatal(err)
	}
	e.Notifier, e.Evaluator, e.Now = &notes{}, &evals{}, func() time.Time { return now }
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	e.ListAccounts = func(context.Context) ([]string, error) {
		*listed++
		return []string{home, member}, nil
	}
	return e, w
}

func TestScope(t *testing.T) {
	cases := []struct {
		name, account, region string
		org, global           bool
		verdict               rule.Verdict
		reason                string
		seen                  string // where the rule evaluated and applied
	}{
		{"home account, home region", home, "us-east-1", false, false, rule.Violation, "open",
			"evaluate 123456789012/us-east-1,apply 123456789012/us-east-1,apply 123456789012/us-east-1"},
		{"home account, another covered region: judged there", home, "eu-west-1", false, false, rule.Violation, "open",
			"evaluate 123456789012/eu-west-1,apply 123456789012/eu-west-1,apply 123456789012/eu-west-1"},
		{"a region the deployment does not cover", home, "ap-south-1", false, false, rule.Ignored,
			"out of scope: event account 123456789012, region ap-south-1; this deployment covers account 123456789012 in us-east-1, eu-west-1 (region not covered)", ""},
		{"another account without organization mode", member, "us-east-1", false, false, rule.Ignored,
			"out of scope: event account 222222222222, region us-east-1; this deployment covers account 123456789012 in us-east-1, eu-west-1 (another account)", ""},
		{"a member account in organization mode: judged there", member, "eu-west-1", true, false, rule.Violation, "open",
			"evaluate 222222222222/eu-west-1,apply 222222222222/eu-west-1,apply 222222222222/eu-west-1"},
		{"an account outside the organization", outsider, "us-east-1", true, false, rule.Ignored,
			"out of scope: event account 333333333333, region us-east-1; this deployment covers account 123456789012 and the active accounts of organization o-abcdefghij in us-east-1, eu-west-1 (not an active account of the organization)", ""},
		{"a global rule's event from an uncovered region (a forwarded sign-in)", home, "eu-north-1", false, true, rule.Violation, "open",
			"evaluate 123456789012/us-east-1,apply 123456789012/us-east-1,apply 123456789012/us-east-1"},
		{"a global rule in another account is still out of scope", member, "us-east-1", false, true, rule.Ignored, "(another account)", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			listed := 0
			e, w := scopeEngine(t, tc.org, tc.global, &listed)
			res, err := e.Handle(context.Background(), eventAs(alicePlain, tc.account, tc.region))
			if err != nil {
				t.Fatal(err)
			}
			d := res.Decisions[0]
			if d.Verdict != tc.verdict || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("decision %s %q, want %s containing %q", d.Verdict, d.Reason, tc.verdict, tc.reason)
			}
			if got := strings.Join(w.seen, ","); got != tc.seen {
				t.Fatalf("rule ran at %q, want %q", got, tc.seen)
			}
			if !tc.org && listed != 0 {
				t.Fatal("listed the organization outside organization mode")
			}
		})
	}
}

func TestOrganizationListCachedAndFailuresLoud(t *testing.T) {
	listed := 0
	e, _ := scopeEngine(t, true, false, &listed)
	for range 3 {
		if _, err := e.Handle(context.Background(), eventAs(alicePlain, outsider, "us-east-1")); err != nil {
			t.Fatal(err)
		}
	}
	if listed != 1 {
		t.Fatalf("listed the organization %d times, want once within its TTL", listed)
	}
	later := now.Add(OrganizationTTL + time.Second)
	e.Now = func() time.Time { return later }
	if _, err := e.Handle(context.Background(), eventAs(alicePlain, outsider, "us-east-1")); err != nil || listed != 2 {
		t.Fatalf("after the TTL: listed %d, err %v", listed, err)
	}
	e.org = orgCache{}
	e.ListAccounts = func(context.Context) ([]string, error) { return nil, errors.New("throttled") }
	res, err := e.Handle(context.Background(), eventAs(alicePlain, member, "us-east-1"))
	if !errors.Is(err, ErrFailed) || res.Decisions[0].Verdict != ErrorVerdict || !strings.Contains(res.Decisions[0].Error, "throttled") {
		t.Fatalf("a failed organization listing: %v %+v", err, res)
	}
	// The home account needs no listing.
	if _, err := e.Handle(context.Background(), eventAs(alicePlain, home, "us-east-1")); err != nil {
		t.Fatal(err)
	}
}

func configChange(account, itemAccount, region string) []byte {
	inv := fmt.Sprintf(`{"configurationItem":{"configurationItemCaptureTime":"2026-11-26T11:00:00Z","awsAccountId":%q,"configurationItemStatus":"OK","resourceType":"AWS::Test::Thing","resourceId":"r1","awsRegion":%q},"notificationCreationTime":"2026-11-26T11:00:01Z","messageType":"ConfigurationItemChangeNotification"}`, itemAccount, region)
	return fmt.Appendf(nil, `{"version":"1.0","invokingEvent":%q,"ruleParameters":"{}","resultToken":"tok","eventLeftScope":false,
	"executionRoleArn":"arn:aws:iam::%s:role/config","configRuleArn":"arn:aws:config:%s:%s:config-rule/config-rule-abc","configRuleName":"rampart-fake","configRuleId":"config-rule-abc","accountId":%q}`,
		inv, account, region, account, account)
}

func TestConfigScope(t *testing.T) {
	listed := 0
	e, w := scopeEngine(t, true, false, &listed)
	ev := e.Evaluator.(*evals)
	res, err := e.Handle(context.Background(), configChange(member, member, "eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Decisions[0]; d.Verdict != rule.Violation || strings.Join(w.seen, ",") != "evaluate 222222222222/eu-west-1,apply 222222222222/eu-west-1,apply 222222222222/eu-west-1" || len(ev.got) != 1 {
		t.Fatalf("member Config change: %+v at %v, evaluations %v", d, w.seen, ev.got)
	}
	w.seen, ev.got = nil, nil
	res, err = e.Handle(context.Background(), configChange(outsider, outsider, "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Decisions[0]; d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "out of scope") || len(w.seen) != 0 || len(ev.got) != 0 {
		t.Fatalf("outsider Config change: %+v at %v, evaluations %v", d, w.seen, ev.got)
	}
	if _, err := e.Handle(context.Background(), configChange(member, outsider, "us-east-1")); !errors.Is(err, trigger.ErrInput) || len(w.seen) != 0 {
		t.Fatalf("an item of another account than the invocation's: err %v, ran at %v", err, w.seen)
	}
	// Evaluations of a member account's rule go into the member account.
	root := e.session
	e.Evaluator = &report.ConfigService{Session: root}
	sess, _, err := e.route(context.Background(), member, "eu-west-1", false)
	if err != nil {
		t.Fatal(err)
	}
	got := e.evaluatorFor(withSession(context.Background(), sess)).(*report.ConfigService)
	if got.Session.Account != member || got.Session.Region != "eu-west-1" {
		t.Fatalf("evaluations through %s/%s", got.Session.Account, got.Session.Region)
	}
	if e.evaluatorFor(context.Background()).(*report.ConfigService).Session != root {
		t.Fatal("home evaluations left the home session")
	}
}

func sqsSweep(bodies ...string) []byte {
	var recs []string
	for i, b := range bodies {
		recs = append(recs, fmt.Sprintf(`{"messageId":"m-%d","receiptHandle":"h","body":%q,"attributes":{"ApproximateReceiveCount":"1"},"messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:rampart-sweeps","awsRegion":"us-east-1"}`, i, b))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

func TestSweepMessages(t *testing.T) {
	listed := 0
	e, w := scopeEngine(t, true, false, &listed)
	res, err := e.Handle(context.Background(), sqsSweep(
		`{"rampart":"sweep","rule":"fake","account":"222222222222","region":"eu-west-1","schedule":"s-1"}`,
		`{"rampart":"sweep","rule":"fake","account":"333333333333","region":"us-east-1","schedule":"s-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Decisions) != 2 || res.Decisions[0].Verdict != rule.Violation || res.Decisions[1].Verdict != rule.Ignored ||
		!strings.Contains(res.Decisions[1].Reason, "not an active account") {
		t.Fatalf("decisions %+v", res.Decisions)
	}
	if got := strings.Join(w.seen, ","); got != "sweep 222222222222/eu-west-1,evaluate 222222222222/eu-west-1,apply 222222222222/eu-west-1,apply 222222222222/eu-west-1" {
		t.Fatalf("ran at %s", got)
	}
	for _, bad := range []string{`{"rampart":"sweep","rule":"other","account":"222222222222","region":"eu-west-1"}`} {
		if _, err := e.Handle(context.Background(), sqsSweep(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestSignInFromAnyRegion: a console sign-in recorded in a region the
// deployment does not cover (forwarded to the home region) reaches the rule,
// judged through the function's region; one from another account does not.
func TestSignInFromAnyRegion(t *testing.T) {
	listed := 0
	e, w := scopeEngine(t, false, false, &listed)
	w.meta.CloudTrail = []rule.CloudTrailTrigger{{DetailType: trigger.DetailSignIn, Source: "signin.amazonaws.com", Events: []string{"ConsoleLogin"}}}
	w.meta.Config, w.meta.Schedule = nil, ""
	signIn := func(account, region string) []byte {
		return fmt.Appendf(nil, `{"version":"0","id":"s-1","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","account":%q,
		"time":"2026-11-26T11:00:00Z","region":%q,"resources":[],"detail":{"eventVersion":"1.08","userIdentity":{"type":"IAMUser",
		"principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::%s:user/alice","accountId":%q,"userName":"alice"},"eventTime":"2026-11-26T11:00:00Z",
		"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":%q,"sourceIPAddress":"198.51.100.7","userAgent":"Mozilla/5.0",
		"requestParameters":"r1","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"},"eventID":"s-1",
		"readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":%q}}`, account, region, account, account, region, account)
	}
	res, err := e.Handle(context.Background(), signIn(home, "eu-north-1"))
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !strings.HasPrefix(strings.Join(w.seen, ","), "evaluate 123456789012/us-east-1") {
		t.Fatalf("sign-in from eu-north-1: %+v at %v", d, w.seen)
	}
	w.seen = nil
	res, err = e.Handle(context.Background(), signIn(member, "us-east-2"))
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Decisions[0]; d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "another account") || len(w.seen) != 0 {
		t.Fatalf("another account's sign-in: %+v at %v", d, w.seen)
	}
}

// Bind adapts the fake (legacyrule.Adapt).
func (w *where) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(w).Bind(p) }
