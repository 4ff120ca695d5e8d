package notifystate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/notifystate"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/legacyrule"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
	"github.com/rampart-aws/rampart/internal/trigger"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// The day simulation: one account, one region, report mode, 1,000
// resources of which 5% violate — 100 security groups judged by three
// overlapping rules, 900 Elastic IPs judged by one — run through the real
// engine with real SNS and DynamoDB (moto), once with today's behaviour (no
// state table: every violating evaluation notifies) and once with the
// transition store. Fake rules stand in for the real ones: what is measured
// is the engine's notification policy, not a rule.

// world is the account: which resources violate.
type world struct{ violating map[string]bool }

// simRule judges resources of one type from the world.
type simRule struct {
	meta rule.Meta
	w    *world
	ids  []string
}

func (r *simRule) Meta() *rule.Meta { return &r.meta }

func (r *simRule) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
	var req struct{ ID string }
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return nil, fmt.Errorf("%w: %w", trigger.ErrInput, err)
	}
	return []rule.Target{{Type: r.meta.ResourceType, ID: req.ID}}, nil
}

func (r *simRule) Evaluate(_ context.Context, _ *awsclient.Session, t rule.Target, _ rule.Params) (rule.Finding, error) {
	if !r.w.violating[t.ID] {
		return rule.Finding{Verdict: rule.Compliant, Reason: "fine"}, nil
	}
	return rule.Finding{Verdict: rule.Violation, Reason: "violates " + r.meta.ID,
		Actions: []rule.Action{rule.NewAction("test:Fix", t.ID, "fix it", map[string]string{"id": t.ID}, nil)}}, nil
}

func (r *simRule) Apply(context.Context, *awsclient.Session, rule.Action) error { return nil }

func (r *simRule) Sweep(context.Context, *awsclient.Session, rule.Params) ([]rule.Target, error) {
	out := make([]rule.Target, 0, len(r.ids))
	for _, id := range r.ids {
		out = append(out, rule.Target{Type: r.meta.ResourceType, ID: id})
	}
	return out, nil
}

func newSimRule(id, typ, event string, w *world, ids []string) *simRule {
	return &simRule{w: w, ids: ids, meta: rule.Meta{ID: id, Title: id, Severity: rule.High, ResourceType: typ, Function: "sim",
		CloudTrail:   []rule.CloudTrailTrigger{{Source: "ec2.amazonaws.com", Events: []string{event}}},
		Config:       &rule.ConfigTrigger{ResourceTypes: []string{typ}, Frequency: rule.TwentyFourHour},
		ReadActions:  []string{"ec2:Describe"},
		WriteActions: []string{"test:Fix"}}}
}

// sim drives one engine through days.
type sim struct {
	t     *testing.T
	e     *engine.Engine
	w     *world
	sgs   []*simRule
	eip   *simRule
	clock time.Time
	n     int
}

func (s *sim) handle(raw []byte) {
	s.t.Helper()
	if _, err := s.e.Handle(context.Background(), raw); err != nil {
		s.t.Fatalf("handle: %v", err)
	}
}

// tick is a unique notification time: Config's result token is the same
// TESTMODE for every test invocation.
func (s *sim) tick() string {
	s.n++
	return s.clock.Add(time.Duration(s.n) * time.Second).Format("2006-01-02T15:04:05.000Z")
}

func (s *sim) periodic(r *simRule) {
	ie := fmt.Sprintf(`{"messageType":"ScheduledNotification","awsAccountId":%q,"notificationCreationTime":%q}`, mototest.Account, s.tick())
	s.handle(fmt.Appendf(nil, `{"invokingEvent":%q,"ruleParameters":"{}","resultToken":"TESTMODE","configRuleName":%q,"accountId":%q}`,
		ie, r.meta.ConfigRuleName(), mototest.Account))
}

// change is Config's change-triggered invocation of rule r about resource
// id, whose change the CloudTrail event related made (Config's
// relatedEvents).
func (s *sim) change(r *simRule, id, related string) {
	at := s.tick()
	item := fmt.Sprintf(`{"resourceType":%q,"resourceId":%q,"awsRegion":%q,"awsAccountId":%q,"configurationItemStatus":"OK","configurationItemCaptureTime":%q,"relatedEvents":[%q]}`,
		r.meta.ResourceType, id, mototest.Region, mototest.Account, at, related)
	ie := fmt.Sprintf(`{"messageType":"ConfigurationItemChangeNotification","notificationCreationTime":%q,"configurationItem":%s}`, at, item)
	s.handle(fmt.Appendf(nil, `{"invokingEvent":%q,"ruleParameters":"{}","resultToken":"TESTMODE","configRuleName":%q,"accountId":%q}`,
		ie, r.meta.ConfigRuleName(), mototest.Account))
}

func (s *sim) call(event, id, eventID string) {
	s.handle(fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012"},
		"eventTime":%q,"eventSource":"ec2.amazonaws.com","eventName":%q,"awsRegion":%q,"requestParameters":{"id":%q},"eventID":%q,"recipientAccountId":%q}`,
		s.tick(), event, mototest.Region, id, eventID, mototest.Account))
}

func (s *sim) allPeriodic() {
	for _, r := range append(append([]*simRule{}, s.sgs...), s.eip) {
		s.periodic(r)
	}
}

// day is one day of the account's life, after day 0 (the deployment)
// established 50 violations.
func (s *sim) day() {
	// a. Config's periodic evaluation of every rule over every resource.
	s.allPeriodic()
	// b. Five new violations arrive through CloudTrail, each followed by
	// Config's change-triggered evaluation by every rule of its type;
	// c. two of the five CloudTrail invocations are retried by Lambda;
	// d. Rampart's own pending-release tag on each new Elastic IP makes
	// Config evaluate it once more.
	for i, id := range []string{"sg-050", "sg-051", "eipalloc-100", "eipalloc-101", "eipalloc-102"} {
		s.w.violating[id] = true
		eventID := fmt.Sprintf("ev-%s-%d", s.clock.Format("0102"), i)
		rules, event := []*simRule{s.eip}, "AllocateAddress"
		if id[:3] == "sg-" {
			rules, event = s.sgs, "AuthorizeSecurityGroupIngress"
		}
		s.call(event, id, eventID)
		if i == 0 || i == 2 {
			s.call(event, id, eventID) // the Lambda retry
		}
		for _, r := range rules {
			s.change(r, id, eventID)
		}
		if event == "AllocateAddress" {
			s.change(s.eip, id, "rampart-tag-"+eventID) // Rampart's tag write, seen by Config
		}
	}
	// e. Two violations are fixed by their owners; Config notices.
	s.w.violating["sg-000"], s.w.violating["eipalloc-000"] = false, false
	for _, r := range s.sgs {
		s.change(r, "sg-000", "owner-revoke")
	}
	s.change(s.eip, "eipalloc-000", "owner-release")
	// f. The daily digest.
	s.handle(fmt.Appendf(nil, `{"version":"0","id":"digest-%s","detail-type":"Scheduled Event","source":"aws.events","account":%q,"time":%q,"region":%q,"resources":["arn:aws:events:%s:%s:rule/%s"],"detail":{}}`,
		s.clock.Format("0102"), mototest.Account, s.tick(), mototest.Region, mototest.Region, mototest.Account, engine.DigestSchedule))
}

func newSim(t *testing.T, stateTable string) (*sim, *mototest.Topic) {
	t.Helper()
	sess := mototest.Session(t)
	topic := mototest.NewTopic(t, sess, "rampart-notifications")
	if stateTable != "" {
		if _, err := awsclient.Client(sess, dynamodb.NewFromConfig).CreateTable(context.Background(), notifystate.CreateTableInput(stateTable)); err != nil {
			t.Fatal(err)
		}
	}
	w := &world{violating: map[string]bool{}}
	var sgIDs, eipIDs []string
	for i := range 100 {
		sgIDs = append(sgIDs, fmt.Sprintf("sg-%03d", i))
	}
	for i := range 900 {
		eipIDs = append(eipIDs, fmt.Sprintf("eipalloc-%03d", i))
	}
	for i := range 5 {
		w.violating[sgIDs[i]] = true
	}
	for i := range 45 {
		w.violating[eipIDs[i]] = true
	}
	s := &sim{t: t, w: w, clock: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}
	for _, id := range []string{"sg-open-world", "sg-restricted-ssh", "sg-restricted-common-ports"} {
		s.sgs = append(s.sgs, newSimRule(id, "AWS::EC2::SecurityGroup", "AuthorizeSecurityGroupIngress", w, sgIDs))
	}
	// As in internal/rules/sgopen, only sg-open-world reacts to CloudTrail; the
	// other two are Config rules. All three fire on a group open to the
	// world on all traffic.
	s.sgs[1].meta.CloudTrail, s.sgs[2].meta.CloudTrail = nil, nil
	s.eip = newSimRule("eip-attached", "AWS::EC2::EIP", "AllocateAddress", w, eipIDs)
	var rules []rule.Rule
	for _, r := range append(append([]*simRule{}, s.sgs...), s.eip) {
		rules = append(rules, r)
	}
	cfg := engine.Config{Mode: engine.Report, TopicARN: topic.ARN, Notify: engine.NotifyConfig{StateTable: stateTable}}
	e, err := engine.New(cfg, sess, rules...)
	if err != nil {
		t.Fatal(err)
	}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	e.Now = func() time.Time { return s.clock }
	s.e = e
	return s, topic
}

// run deploys (day 0: the first periodic evaluation), then lives one day,
// and returns the messages of that day by subject.
func run(t *testing.T, stateTable string) []mototest.Notification {
	s, topic := newSim(t, stateTable)
	s.allPeriodic()
	day0 := topic.Received(t)
	t.Logf("day 0 (deployment): %d messages", len(day0))
	s.clock = s.clock.Add(24 * time.Hour)
	s.day()
	return topic.Received(t)
}

func TestNotificationsPerDay(t *testing.T) {
	if testing.Short() {
		t.Skip("the day simulation makes ~6,000 calls to moto")
	}
	before := run(t, "")
	after := run(t, "rampart-state")
	t.Logf("1,000 resources, 5%% violating, one region, report mode: %d notifications a day before, %d after", len(before), len(after))
	for _, n := range after {
		t.Logf("  after: %s", n.Subject)
	}
	// Before: 60 periodic repeats (15 SG rule-resource pairs + 45 EIPs),
	// 2 new SGs × (1 event + 3 Config) + 3 new EIPs × (1 event + 1 Config),
	// 2 retries, 3 tag-write re-evaluations = 79; resolutions are not
	// notified.
	if len(before) != 79 {
		t.Errorf("before: %d messages, want 79", len(before))
	}
	// After: 2 new SGs (the CloudTrail event's message; the Config rules'
	// transitions of the same change fold into it) + 3 new EIPs, the
	// resolved SG (one message for its three Config rules) + the resolved
	// EIP, and the digest = 8.
	if len(after) != 8 {
		t.Errorf("after: %d messages, want 8", len(after))
	}
}

// Bind adapts the fake (legacyrule.Adapt).
func (r *simRule) Bind(p rule.Params) (*rule.Bound, error) { return legacyrule.Adapt(r).Bind(p) }
