package ec2imdsv2_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/ebsattachedencrypted"
	"github.com/rampart-aws/rampart/internal/rules/ec2imdsv2"
	"github.com/rampart-aws/rampart/internal/rules/ec2instanceinvpc"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const sampleID = "i-0608144705c8a6401"

// launch runs one instance with the given metadata options.
func launch(t *testing.T, s *awsclient.Session, tokens ec2types.HttpTokensState, endpoint ec2types.InstanceMetadataEndpointState) string {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		MetadataOptions: &ec2types.InstanceMetadataOptionsRequest{HttpTokens: tokens, HttpEndpoint: endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Instances[0].InstanceId)
}

func tokens(t *testing.T, s *awsclient.Session, id string) ec2types.HttpTokensState {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Reservations[0].Instances[0].MetadataOptions.HttpTokens
}

func running(t *testing.T, id string) []byte {
	t.Helper()
	return enginetest.Sample(t, "events/service/ec2-instance-running.json", sampleID, id)
}

func TestRunningInstanceWithIMDSv1IsFixedAndUndone(t *testing.T) {
	s := mototest.Session(t)
	id := launch(t, s, ec2types.HttpTokensStateOptional, ec2types.InstanceMetadataEndpointStateEnabled)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, ec2imdsv2.Rule)
	first, calls := enginetest.RecordedOne(t, e, running(t, id))
	d := first.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != id || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied " + ec2imdsv2.APIModify}) {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"DescribeInstances", "ModifyInstanceMetadataOptions"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	if got := tokens(t, s, id); got != ec2types.HttpTokensStateRequired {
		t.Fatalf("HttpTokens = %s after the fix", got)
	}
	// The same event again: compliant, one read.
	res, calls := enginetest.RecordedOne(t, e, running(t, id))
	if res.Decisions[0].Verdict != rule.Compliant || !slices.Equal(calls, []string{"DescribeInstances"}) {
		t.Fatalf("duplicate: %+v, calls %v", res.Decisions[0], calls)
	}
	// Undo puts IMDSv1 back as it was.
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, first)); !slices.Equal(got, []string{"applied " + ec2imdsv2.APIModify}) {
		t.Fatalf("undo = %v", got)
	}
	if got := tokens(t, s, id); got != ec2types.HttpTokensStateOptional {
		t.Fatalf("HttpTokens = %s after undo", got)
	}
}

func TestReportModeAndEndpointOffChangeNothing(t *testing.T) {
	s := mototest.Session(t)
	v1 := launch(t, s, ec2types.HttpTokensStateOptional, ec2types.InstanceMetadataEndpointStateEnabled)
	off := launch(t, s, ec2types.HttpTokensStateOptional, ec2types.InstanceMetadataEndpointStateDisabled)
	report, _ := enginetest.New(t, s, engine.Config{Mode: engine.Report}, ec2imdsv2.Rule)
	d := enginetest.One(t, report, running(t, v1))
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned " + ec2imdsv2.APIModify}) {
		t.Fatalf("report mode: %+v", d)
	}
	if got := tokens(t, s, v1); got != ec2types.HttpTokensStateOptional {
		t.Fatalf("report mode changed HttpTokens to %s", got)
	}
	enforce, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, ec2imdsv2.Rule)
	res, calls := enginetest.RecordedOne(t, enforce, running(t, off))
	if res.Decisions[0].Verdict != rule.Compliant || !slices.Equal(calls, []string{"DescribeInstances"}) {
		t.Fatalf("endpoint off: %+v, calls %v", res.Decisions[0], calls)
	}
}

func TestModifyBackToOptionalIsReverted(t *testing.T) {
	s := mototest.Session(t)
	id := launch(t, s, ec2types.HttpTokensStateRequired, ec2types.InstanceMetadataEndpointStateEnabled)
	// The attacker's call, as CloudTrail records it.
	if _, err := awsclient.Client(s, ec2.NewFromConfig).ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
		InstanceId: aws.String(id), HttpTokens: ec2types.HttpTokensStateOptional}); err != nil {
		t.Fatal(err)
	}
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, ec2imdsv2.Rule)
	d := enginetest.One(t, e, enginetest.Sample(t, "events/cloudtrail/ec2-modify-instance-metadata-options-optional.json", sampleID, id))
	if d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Applied || tokens(t, s, id) != ec2types.HttpTokensStateRequired {
		t.Fatalf("decision = %+v; tokens %s", d, tokens(t, s, id))
	}
	// A stale event about an instance that is gone: nothing to do.
	d = enginetest.One(t, e, enginetest.Sample(t, "events/cloudtrail/ec2-modify-instance-metadata-options-optional.json"))
	if d.Verdict != rule.NotApplicable || len(d.Actions) != 0 {
		t.Fatalf("gone instance: %+v", d)
	}
}

func TestScheduledSweepJudgesEveryInstance(t *testing.T) {
	s := mototest.Session(t)
	v1 := launch(t, s, ec2types.HttpTokensStateOptional, ec2types.InstanceMetadataEndpointStateEnabled)
	v2 := launch(t, s, ec2types.HttpTokensStateRequired, ec2types.InstanceMetadataEndpointStateEnabled)
	e, evals := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, ec2imdsv2.Rule)
	raw := enginetest.ConfigInvocation(t, "scheduled-notification.json", "rampart-"+ec2imdsv2.ID, "{}", nil)
	res, calls := enginetest.Recorded(t, e, raw)
	verdicts := map[string]rule.Verdict{}
	for _, d := range res.Decisions {
		verdicts[d.Resource] = d.Verdict
	}
	if verdicts[v1] != rule.Violation || verdicts[v2] != rule.Compliant || len(verdicts) != 2 {
		t.Fatalf("verdicts = %v", verdicts)
	}
	if n := slices.Index(calls, "DescribeInstances"); n < 0 || slices.Contains(calls[n+1:], "DescribeInstances") {
		t.Fatalf("the sweep reads instances once: %v", calls)
	}
	if tokens(t, s, v1) != ec2types.HttpTokensStateRequired {
		t.Fatal("the sweep did not fix the IMDSv1 instance")
	}
	got := map[string]string{}
	for _, ev := range evals.Evals {
		got[aws.ToString(ev.ComplianceResourceId)] = string(ev.ComplianceType)
	}
	if got[v1] != "NON_COMPLIANT" || got[v2] != "COMPLIANT" {
		t.Fatalf("Config evaluations = %v", got)
	}
}

// TestRunningEventReachesEveryInstanceRule runs the ec2 function's rules on
// one launch: the instance is judged by the instance rules, and its
// volumes (found through the instance) by ebs-attached-encrypted.
func TestRunningEventReachesEveryInstanceRule(t *testing.T) {
	s := mototest.Session(t)
	id := launch(t, s, ec2types.HttpTokensStateOptional, ec2types.InstanceMetadataEndpointStateEnabled)
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Report}, ec2instanceinvpc.Rule, ec2imdsv2.Rule, ebsattachedencrypted.Rule)
	res := enginetest.Handle(t, e, running(t, id))
	got := map[string]rule.Verdict{}
	for _, d := range res.Decisions {
		got[d.Rule+" "+d.ResourceType] = d.Verdict
		if d.Rule == "ebs-attached-encrypted" && d.Resource == id {
			t.Fatalf("the volume rule judged the instance itself: %+v", d)
		}
	}
	want := map[string]rule.Verdict{
		"ec2-instance-in-vpc AWS::EC2::Instance":  rule.Compliant, // moto puts every instance in a VPC
		"ec2-imdsv2-required AWS::EC2::Instance":  rule.Violation,
		"ebs-attached-encrypted AWS::EC2::Volume": rule.Violation, // moto's root volume is unencrypted
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("decisions %v, want %v", got, want)
		}
	}
}
