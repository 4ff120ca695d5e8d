package ec2instanceinvpc_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/ec2instanceinvpc"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

// configEvent is a real-shaped Config invocation from events/config aimed at
// this rule, with the test-mode token and edits applied to the item (see
// enginetest.ConfigInvocation).
func configEvent(t *testing.T, file string, edit func(ev, item map[string]any)) []byte {
	t.Helper()
	return enginetest.ConfigInvocation(t, file, "rampart-ec2-instance-in-vpc", "{}", edit)
}

func newEngine(t *testing.T, s *awsclient.Session) (*engine.Engine, *enginetest.Evaluations) {
	t.Helper()
	return enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, ec2instanceinvpc.Rule)
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
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, configEvent(t, "instance-change-notification.json", func(_, item map[string]any) {
		delete(item["configuration"].(map[string]any), "vpcId")
	})).Decisions
	if got, _ := srv.Calls(); len(got) != 0 {
		t.Fatalf("offline evaluation made calls: %v", got)
	}
	d := ds[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 0 || !strings.Contains(d.Reason, "cannot be moved") {
		t.Fatalf("decision = %+v", d)
	}
	ds = enginetest.Handle(t, e, configEvent(t, "instance-change-notification.json", nil)).Decisions
	if ds[0].Verdict != rule.Compliant {
		t.Fatalf("in a VPC: %+v", ds[0])
	}
}

func TestChangeNotificationReadsLiveState(t *testing.T) {
	s := mototest.Session(t)
	id := runInstance(t, s)
	e, rec := newEngine(t, s)
	event := func(id string) []byte {
		return configEvent(t, "instance-change-notification.json", func(_, item map[string]any) {
			item["resourceId"] = id
			// The event claims no VPC; the live instance has one and decides.
			delete(item["configuration"].(map[string]any), "vpcId")
		})
	}
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, event(id)).Decisions
	got, _ := srv.Calls()
	if ds[0].Verdict != rule.Compliant || !strings.Contains(ds[0].Reason, "vpc-") {
		t.Fatalf("decision = %+v", ds[0])
	}
	if want := []string{"DescribeInstances", "StarlingDoveService.PutEvaluations"}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	if rec.Evals[0].ComplianceType != cfgtypes.ComplianceTypeCompliant || aws.ToString(rec.Evals[0].ComplianceResourceId) != id {
		t.Fatalf("evaluation = %+v", rec.Evals[0])
	}
	// Terminated, then unknown: not applicable.
	if _, err := awsclient.Client(s, ec2.NewFromConfig).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if ds := enginetest.Handle(t, e, event(id)).Decisions; ds[0].Verdict != rule.NotApplicable {
		t.Fatalf("terminated = %+v", ds[0])
	}
	if ds := enginetest.Handle(t, e, event("i-0000000000000dead")).Decisions; ds[0].Verdict != rule.NotApplicable {
		t.Fatalf("gone = %+v", ds[0])
	}
}

func TestScheduledSweepOneCall(t *testing.T) {
	s := mototest.Session(t)
	a, b := runInstance(t, s), runInstance(t, s)
	e, rec := newEngine(t, s)
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, configEvent(t, "scheduled-notification.json", nil)).Decisions
	got, _ := srv.Calls()
	if len(ds) != 2 || len(rec.Evals) != 2 {
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

// TestReportsOnly: the rule has no remediation and no CloudTrail trigger,
// so it binds without Apply and Targets, and the engine refuses any action
// made in its name.
func TestReportsOnly(t *testing.T) {
	t.Parallel()
	b, err := rule.BindWith(ec2instanceinvpc.Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Apply != nil || b.Targets != nil {
		t.Fatal("a report-only, Config-only rule can apply or name targets")
	}
	if b.Sweep == nil {
		t.Fatal("the periodic rule cannot sweep")
	}
}
