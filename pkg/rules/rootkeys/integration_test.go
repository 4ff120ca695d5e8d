package rootkeys_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/engine"
	"github.com/rampart-aws/rampart/pkg/mototest"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/rules/rootkeys"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

func read(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../../events/" + path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func sweepEvent(t *testing.T) []byte {
	return bytes.ReplaceAll(read(t, "schedule/scheduled-event.json"), []byte("rampart-stale-credentials-sweep"), []byte("rampart-root-access-keys-sweep"))
}

func newEngine(t *testing.T, s *awsclient.Session, topic string) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Mode: engine.Enforce, TopicARN: topic}, s, rootkeys.Rule)
	if err != nil {
		t.Fatal(err)
	}
	e.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	e.Metrics = io.Discard
	return e
}

func handle(t *testing.T, e *engine.Engine, raw []byte) (engine.Result, []string) {
	t.Helper()
	srv := mototest.Shared(t)
	if err := srv.StartRecording(); err != nil {
		t.Fatal(err)
	}
	res, err := e.Handle(context.Background(), raw)
	calls, cerr := srv.Calls()
	if cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Decisions) != 1 {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	return *res, calls
}

// The root CreateAccessKey sample against moto: moto 5.2.1's account
// summary always reports AccountAccessKeysPresent 0 (it models no root
// keys), so the live state says the key is gone — the "deleted since" path,
// with one call and nothing published. The alert path is covered by the
// offline plan below and the unit tests of judge.
func TestRootCreateAccessKeyAgainstMoto(t *testing.T) {
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	res, calls := handle(t, newEngine(t, s, topic.ARN), read(t, "cloudtrail/iam-create-access-key-root.json"))
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
	raw := read(t, "cloudtrail/iam-create-access-key-root.json")
	raw = bytes.Replace(raw, []byte(`"type": "Root"`), []byte(`"type": "IAMUser"`), 1)
	res, calls := handle(t, newEngine(t, s, ""), raw)
	if d := res.Decisions[0]; d.Verdict != rule.Ignored {
		t.Fatalf("decision = %+v", d)
	}
	if len(calls) != 0 {
		t.Fatalf("calls = %v", calls)
	}
}

func TestSweepIsOneCall(t *testing.T) {
	s := mototest.Session(t)
	res, calls := handle(t, newEngine(t, s, ""), sweepEvent(t))
	if d := res.Decisions[0]; d.Rule != "root-access-keys" || d.Verdict != rule.Compliant || d.Resource != rootkeys.TargetID {
		t.Fatalf("decision = %+v", d)
	}
	if !slices.Equal(calls, []string{"GetAccountSummary"}) {
		t.Fatalf("calls = %v", calls)
	}
}

// rampart plan: the event alone implies the violation; the plan is the
// alert, and no call is made.
func TestOfflinePlanAlertsWithoutCalls(t *testing.T) {
	srv := mototest.Shared(t)
	mototest.Session(t)
	e := newEngine(t, awsclient.NewOffline("us-east-1"), "")
	if err := srv.StartRecording(); err != nil {
		t.Fatal(err)
	}
	res, err := e.Handle(context.Background(), read(t, "cloudtrail/iam-create-access-key-root.json"))
	if err != nil {
		t.Fatal(err)
	}
	calls, err := srv.Calls()
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Fatalf("calls = %v", calls)
	}
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != rule.AlertAPI || d.Actions[0].Outcome != rule.Planned {
		t.Fatalf("decision = %+v", d)
	}
}
