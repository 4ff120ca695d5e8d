package instancevpc_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/engine"
	"github.com/rampart-aws/rampart/pkg/mototest"
	"github.com/rampart-aws/rampart/pkg/report"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/rules/instancevpc"
	"github.com/rampart-aws/rampart/pkg/trigger"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

// configEvent is a real-shaped Config invocation from events/config aimed at
// this rule, with the test-mode token (moto 5.2.1 accepts PutEvaluations
// only in test mode) and edits applied to the item.
func configEvent(t *testing.T, file string, edit func(item map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../../events/config/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var ev, inv map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(ev["invokingEvent"].(string)), &inv); err != nil {
		t.Fatal(err)
	}
	ev["configRuleName"], ev["resultToken"], ev["ruleParameters"] = "rampart-ec2-instance-in-vpc", "TESTMODE", "{}"
	item, _ := inv["configurationItem"].(map[string]any)
	if item == nil {
		item, _ = inv["configurationItemSummary"].(map[string]any)
	}
	if edit != nil {
		edit(item)
	}
	b, _ := json.Marshal(inv)
	ev["invokingEvent"] = string(b)
	out, _ := json.Marshal(ev)
	return out
}

type recorder struct {
	next  report.Evaluator
	evals []cfgtypes.Evaluation
}

func (r *recorder) PutEvaluations(ctx context.Context, token string, evals []cfgtypes.Evaluation) error {
	r.evals = append(r.evals, evals...)
	return r.next.PutEvaluations(ctx, token, evals)
}

func newEngine(t *testing.T, s *awsclient.Session) (*engine.Engine, *recorder) {
	t.Helper()
	e, err := engine.New(engine.Config{Mode: engine.Enforce}, s, instancevpc.Rule)
	if err != nil {
		t.Fatal(err)
	}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	rec := &recorder{next: e.Evaluator}
	if e.Evaluator != nil {
		e.Evaluator = rec
	}
	return e, rec
}

func handle(t *testing.T, e *engine.Engine, raw []byte) []report.Decision {
	t.Helper()
	res, err := e.Handle(ctx, raw)
	if err != nil {
		t.Fatalf("handle: %v (%+v)", err, res)
	}
	return res.Decisions
}

func runInstance(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Instances[0].InstanceId)
}

// moto 5.2.1 launches every instance into the default VPC (EC2-Classic is
// gone from AWS too), so a violation cannot be made there: the violating
// path is tested offline from a real-shaped configuration item without
// vpcId, and live only the compliant, terminated and gone paths.
func TestOfflineViolationFromTheConfigurationItem(t *testing.T) {
	mototest.Session(t)
	e, _ := newEngine(t, awsclient.NewOffline("us-east-1"))
	srv := mototest.Shared(t)
	if err := srv.StartRecording(); err != nil {
		t.Fatal(err)
	}
	ds := handle(t, e, configEvent(t, "instance-change-notification.json", func(item map[string]any) {
		delete(item["configuration"].(map[string]any), "vpcId")
	}))
	if got, _ := srv.Calls(); len(got) != 0 {
		t.Fatalf("offline evaluation made calls: %v", got)
	}
	d := ds[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 0 || !strings.Contains(d.Reason, "cannot be moved") {
		t.Fatalf("decision = %+v", d)
	}
	ds = handle(t, e, configEvent(t, "instance-change-notification.json", nil))
	if ds[0].Verdict != rule.Compliant {
		t.Fatalf("in a VPC: %+v", ds[0])
	}
}

func TestChangeNotificationReadsLiveState(t *testing.T) {
	s := mototest.Session(t)
	id := runInstance(t, s)
	e, rec := newEngine(t, s)
	event := func(id string) []byte {
		return configEvent(t, "instance-change-notification.json", func(item map[string]any) {
			item["resourceId"] = id
			// The event claims no VPC; the live instance has one and decides.
			delete(item["configuration"].(map[string]any), "vpcId")
		})
	}
	srv := mototest.Shared(t)
	if err := srv.StartRecording(); err != nil {
		t.Fatal(err)
	}
	ds := handle(t, e, event(id))
	got, _ := srv.Calls()
	if ds[0].Verdict != rule.Compliant || !strings.Contains(ds[0].Reason, "vpc-") {
		t.Fatalf("decision = %+v", ds[0])
	}
	if want := []string{"DescribeInstances", "StarlingDoveService.PutEvaluations"}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	if rec.evals[0].ComplianceType != cfgtypes.ComplianceTypeCompliant || aws.ToString(rec.evals[0].ComplianceResourceId) != id {
		t.Fatalf("evaluation = %+v", rec.evals[0])
	}
	// Terminated, then unknown: not applicable.
	if _, err := awsclient.Client(s, ec2.NewFromConfig).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if ds := handle(t, e, event(id)); ds[0].Verdict != rule.NotApplicable {
		t.Fatalf("terminated = %+v", ds[0])
	}
	if ds := handle(t, e, event("i-0000000000000dead")); ds[0].Verdict != rule.NotApplicable {
		t.Fatalf("gone = %+v", ds[0])
	}
}

func TestScheduledSweepOneCall(t *testing.T) {
	s := mototest.Session(t)
	a, b := runInstance(t, s), runInstance(t, s)
	e, rec := newEngine(t, s)
	srv := mototest.Shared(t)
	if err := srv.StartRecording(); err != nil {
		t.Fatal(err)
	}
	ds := handle(t, e, configEvent(t, "scheduled-notification.json", nil))
	got, _ := srv.Calls()
	if len(ds) != 2 || len(rec.evals) != 2 {
		t.Fatalf("decisions = %+v", ds)
	}
	for _, d := range ds {
		if d.Verdict != rule.Compliant || (d.Resource != a && d.Resource != b) {
			t.Fatalf("decision = %+v", d)
		}
	}
	if want := []string{"DescribeInstances", "StarlingDoveService.PutEvaluations"}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
}

func TestApplyRefuses(t *testing.T) {
	err := instancevpc.Rule.Apply(ctx, awsclient.NewOffline("us-east-1"), rule.Alert("i-1", "x"))
	if err == nil {
		t.Fatal("a report-only rule applied an action")
	}
	if ts, err := instancevpc.Rule.Targets(&trigger.APICall{EventName: "RunInstances"}, nil); ts != nil || err != nil {
		t.Fatalf("targets = %v, %v", ts, err)
	}
}
