package rootaccesskeys_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/rootaccesskeys"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

func newEngine(t *testing.T, s *awsclient.Session, topic string) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, TopicARN: topic}, rootaccesskeys.Rule)
	return e
}

// The root CreateAccessKey sample against moto: moto 5.2.1's account
// summary always reports AccountAccessKeysPresent 0 (it models no root
// keys), so the live state says the key is gone — the "deleted since" path,
// with one call and nothing published. The alert path is covered by the
// offline plan below and the unit tests of judge.
func TestRootCreateAccessKeyAgainstMoto(t *testing.T) {
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, topic.ARN), enginetest.Sample(t, "events/cloudtrail/iam-create-access-key-root.json"))
	d := res.Decisions[0]
	if d.Rule != "root-access-keys" || d.Verdict != rule.Compliant || d.Resource != "arn:aws:iam::123456789012:root" ||
		!strings.Contains(d.Reason, "AKIAQ3EGWZ6YU4S7E2HC") || !strings.Contains(d.Reason, "deleted since") {
		t.Fatalf("decision = %+v", d)
	}
	if !slices.Equal(calls, []string{"GetAccountSummary"}) {
		t.Fatalf("calls = %v", calls)
	}
	if n := topic.Received(t); len(n) != 0 {
		t.Fatalf("notifications = %+v", n)
	}
}

// An IAM user creating a key of its own is none of this rule's business.
func TestUserCreateAccessKeyIsIgnored(t *testing.T) {
	s := mototest.Session(t)
	raw := enginetest.Sample(t, "events/cloudtrail/iam-create-access-key-root.json")
	raw = bytes.Replace(raw, []byte(`"type": "Root"`), []byte(`"type": "IAMUser"`), 1)
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, ""), raw)
	if d := res.Decisions[0]; d.Verdict != rule.Ignored {
		t.Fatalf("decision = %+v", d)
	}
	if len(calls) != 0 {
		t.Fatalf("calls = %v", calls)
	}
}

func TestSweepIsOneCall(t *testing.T) {
	s := mototest.Session(t)
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, ""), enginetest.ScheduledEvent(t, "root-access-keys"))
	if d := res.Decisions[0]; d.Rule != "root-access-keys" || d.Verdict != rule.Compliant || d.Resource != rootaccesskeys.TargetID {
		t.Fatalf("decision = %+v", d)
	}
	if !slices.Equal(calls, []string{"GetAccountSummary"}) {
		t.Fatalf("calls = %v", calls)
	}
}

// rampart plan: the event alone implies the violation; the plan is the
// alert, and no call is made.
func TestOfflinePlanAlertsWithoutCalls(t *testing.T) {
	mototest.Session(t)
	e := newEngine(t, awsclient.NewOffline("us-east-1"), "")
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/iam-create-access-key-root.json"))
	if len(calls) != 0 {
		t.Fatalf("calls = %v", calls)
	}
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != rule.AlertAPI || d.Actions[0].Outcome != rule.Planned {
		t.Fatalf("decision = %+v", d)
	}
}
