package vpcflowlogs_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/vpcflowlogs"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const (
	logGroup = "vpc-flow-logs"
	roleARN  = "arn:aws:iam::123456789012:role/vpc-flow-logs-delivery"
)

var logsDest = map[string]string{vpcflowlogs.ParamLogGroup: logGroup, vpcflowlogs.ParamRole: roleARN}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, params map[string]string) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode, Params: map[string]map[string]string{"vpc-flow-logs": params}}, vpcflowlogs.Rule)
	return e
}

func ec2c(s *awsclient.Session) *ec2.Client { return awsclient.Client(s, ec2.NewFromConfig) }

func newVpc(t *testing.T, s *awsclient.Session, cidr string, tags ...ec2types.Tag) string {
	t.Helper()
	in := &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpc, Tags: tags}}
	}
	out, err := ec2c(s).CreateVpc(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Vpc.VpcId)
}

// addFlowLog gives a resource a flow log as its owner would, outside Rampart.
func addFlowLog(t *testing.T, s *awsclient.Session, vpcID string, traffic ec2types.TrafficType, group string) string {
	t.Helper()
	out, err := ec2c(s).CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{ResourceIds: []string{vpcID}, ResourceType: ec2types.FlowLogsResourceTypeVpc,
		TrafficType: traffic, LogGroupName: aws.String(group), DeliverLogsPermissionArn: aws.String(roleARN)})
	if err != nil || len(out.FlowLogIds) != 1 {
		t.Fatalf("create flow log: %v %+v", err, out)
	}
	return out.FlowLogIds[0]
}

// coverDefaultVpc gives moto's default VPC a flow log, so that tests reason
// about their own VPCs only.
func coverDefaultVpc(t *testing.T, s *awsclient.Session) {
	t.Helper()
	out, err := ec2c(s).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Vpcs {
		if aws.ToBool(v.IsDefault) {
			addFlowLog(t, s, aws.ToString(v.VpcId), ec2types.TrafficTypeAll, "default-vpc")
		}
	}
}

// flowLogsOf lists a VPC's flow logs as "traffic destination [rampart]" lines.
func flowLogsOf(t *testing.T, s *awsclient.Session, vpcID string) []string {
	t.Helper()
	out, err := ec2c(s).DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{vpcID}}}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range out.FlowLogs {
		line := string(l.TrafficType) + " " + string(l.LogDestinationType) + " " + aws.ToString(l.LogGroupName) + aws.ToString(l.LogDestination)
		for _, tag := range l.Tags {
			if aws.ToString(tag.Key) == vpcflowlogs.TagCreatedBy {
				line += " rampart"
			}
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return lines
}

func TestCreateVpcGetsAFlowLogAndUndoRemovesIt(t *testing.T) {
	s := mototest.Session(t)
	vpc := newVpc(t, s, "10.20.0.0/16")
	e := newEngine(t, s, engine.Enforce, logsDest)
	event := enginetest.Sample(t, "events/cloudtrail/ec2-create-vpc.json", "vpc-06ff2643980c830c4", vpc)
	res, calls := enginetest.Recorded(t, e, event)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != vpc || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied ec2:CreateFlowLogs"}) {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"DescribeVpcs", "DescribeFlowLogs", "CreateFlowLogs"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	want := []string{"ALL cloud-watch-logs " + logGroup + " rampart"}
	if got := flowLogsOf(t, s, vpc); !slices.Equal(got, want) {
		t.Fatalf("flow logs = %v, want %v", got, want)
	}
	// The same event again: compliant, nothing created.
	again, _ := enginetest.Recorded(t, e, event)
	if d := again.Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := flowLogsOf(t, s, vpc); !slices.Equal(got, want) {
		t.Fatalf("duplicate changed flow logs: %v", got)
	}
	// Someone else adds a REJECT flow log; the undo (fed the JSON of the
	// first run, as the CLI does) removes only Rampart's.
	addFlowLog(t, s, vpc, ec2types.TrafficTypeReject, "team-logs")
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var applied engine.Result
	if err := json.Unmarshal(raw, &applied); err != nil {
		t.Fatal(err)
	}
	undone, err := e.Undo(ctx, applied.Decisions)
	if err != nil || !slices.Equal(enginetest.Outcomes(undone), []string{"applied ec2:DeleteFlowLogs"}) {
		t.Fatalf("undo = %+v, %v", undone, err)
	}
	if got := flowLogsOf(t, s, vpc); !slices.Equal(got, []string{"REJECT cloud-watch-logs team-logs"}) {
		t.Fatalf("after undo: %v", got)
	}
	// A second undo finds nothing of Rampart's left.
	undone, err = e.Undo(ctx, applied.Decisions)
	if err != nil || !slices.Equal(enginetest.Outcomes(undone), []string{"noop ec2:DeleteFlowLogs"}) {
		t.Fatalf("second undo = %+v, %v", undone, err)
	}
}

func TestDeleteFlowLogsRestoresTheOneBareVpc(t *testing.T) {
	s := mototest.Session(t)
	coverDefaultVpc(t, s)
	keep := newVpc(t, s, "10.1.0.0/16")
	addFlowLog(t, s, keep, ec2types.TrafficTypeAll, "keep")
	target := newVpc(t, s, "10.2.0.0/16", ec2types.Tag{Key: aws.String("team"), Value: aws.String("data")})
	victim := addFlowLog(t, s, target, ec2types.TrafficTypeAll, "data")
	if _, err := ec2c(s).DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: []string{victim}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, map[string]string{vpcflowlogs.ParamDestinationType: "s3", vpcflowlogs.ParamBucket: "arn:aws:s3:::central-flow-logs"})
	// moto checks that an S3 destination exists (it cannot resolve a
	// bucket ARN with a /prefix, so the test uses a bare bucket ARN).
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("central-flow-logs")}); err != nil {
		t.Fatal(err)
	}
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/ec2-delete-flow-logs.json", "fl-0b15e95db3dc66883", victim))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != target || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied ec2:CreateFlowLogs"}) {
		t.Fatalf("decision = %+v", d)
	}
	if !strings.Contains(d.Reason, "left the VPC without an active flow log") {
		t.Fatalf("reason = %q", d.Reason)
	}
	if want := []string{"DescribeVpcs", "DescribeFlowLogs", "CreateFlowLogs"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	if got := flowLogsOf(t, s, target); !slices.Equal(got, []string{"ALL s3 arn:aws:s3:::central-flow-logs rampart"}) {
		t.Fatalf("target flow logs = %v", got)
	}
	if got := flowLogsOf(t, s, keep); !slices.Equal(got, []string{"ALL cloud-watch-logs keep"}) {
		t.Fatalf("untouched VPC changed: %v", got)
	}
	// Delivered again: every VPC has a flow log now.
	res, _ = enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/ec2-delete-flow-logs.json", "fl-0b15e95db3dc66883", victim))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("duplicate = %+v", d)
	}
}

func TestExemptVpcIsReportedNotTouched(t *testing.T) {
	s := mototest.Session(t)
	coverDefaultVpc(t, s)
	vpc := newVpc(t, s, "10.3.0.0/16", ec2types.Tag{Key: aws.String("rampart:exempt"), Value: aws.String("lab VPC; owner=net-team; expires=" + time.Now().AddDate(0, 0, 30).Format(time.DateOnly))})
	res, _ := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, logsDest), enginetest.Sample(t, "events/cloudtrail/ec2-create-vpc.json", "vpc-06ff2643980c830c4", vpc))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || len(d.Actions) != 0 || !strings.Contains(d.Reason, "lab VPC") {
		t.Fatalf("decision = %+v", d)
	}
	if got := flowLogsOf(t, s, vpc); len(got) != 0 {
		t.Fatalf("exempt VPC got %v", got)
	}
}

// A deletion that leaves several VPCs bare cannot say which one the deleted
// flow log covered: every bare VPC is judged on its own (the rule expands
// the call), so exempt VPCs are reported and the others get a flow log at
// once; the sweep afterwards finds nothing left to do.
func TestSeveralBareVpcsAreEachJudged(t *testing.T) {
	s := mototest.Session(t)
	coverDefaultVpc(t, s)
	a := newVpc(t, s, "10.4.0.0/16")
	b := newVpc(t, s, "10.5.0.0/16")
	exempt := newVpc(t, s, "10.6.0.0/16", ec2types.Tag{Key: aws.String("rampart:exempt"), Value: aws.String("sandbox; owner=net-team; expires=" + time.Now().AddDate(0, 0, 30).Format(time.DateOnly))})
	victim := addFlowLog(t, s, a, ec2types.TrafficTypeAll, "a")
	if _, err := ec2c(s).DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: []string{victim}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, logsDest)
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/ec2-delete-flow-logs.json", "fl-0b15e95db3dc66883", victim))
	if want := []string{"DescribeVpcs", "DescribeFlowLogs", "CreateFlowLogs", "CreateFlowLogs"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	verdicts := map[string]rule.Verdict{}
	for _, d := range res.Decisions {
		verdicts[d.Resource] = d.Verdict
		if d.Resource != exempt && !strings.Contains(d.Reason, "left the VPC without an active flow log") {
			t.Fatalf("reason = %q", d.Reason)
		}
	}
	if verdicts[a] != rule.Violation || verdicts[b] != rule.Violation || verdicts[exempt] != rule.NotApplicable || len(res.Decisions) != 3 {
		t.Fatalf("verdicts = %v", verdicts)
	}
	for v, want := range map[string]int{a: 1, b: 1, exempt: 0} {
		if got := flowLogsOf(t, s, v); len(got) != want {
			t.Fatalf("%s: %v", v, got)
		}
	}
	sweep := []byte(`{"version":"0","id":"sweep-1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
	"time":"2026-03-15T06:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/rampart-vpc-flow-logs-sweep"],"detail":{}}`)
	_, calls = enginetest.Recorded(t, e, sweep)
	if want := []string{"DescribeVpcs", "DescribeFlowLogs"}; !slices.Equal(calls, want) {
		t.Fatalf("sweep calls = %v, want %v", calls, want)
	}
}

func TestReportModeAndMissingDestinationChangeNothing(t *testing.T) {
	s := mototest.Session(t)
	vpc := newVpc(t, s, "10.7.0.0/16")
	event := enginetest.Sample(t, "events/cloudtrail/ec2-create-vpc.json", "vpc-06ff2643980c830c4", vpc)
	res, calls := enginetest.Recorded(t, newEngine(t, s, engine.Report, logsDest), event)
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned ec2:CreateFlowLogs"}) {
		t.Fatalf("report = %+v", d)
	}
	if slices.Contains(calls, "CreateFlowLogs") {
		t.Fatalf("report mode called %v", calls)
	}
	res, _ = enginetest.Recorded(t, newEngine(t, s, engine.Enforce, nil), event)
	if d := res.Decisions[0]; d.Verdict != rule.Violation || len(d.Actions) != 0 || !strings.Contains(d.Reason, "no flow-log destination is configured") {
		t.Fatalf("no destination = %+v", d)
	}
	if got := flowLogsOf(t, s, vpc); len(got) != 0 {
		t.Fatalf("flow logs = %v", got)
	}
}

func TestConfigChangeNotification(t *testing.T) {
	s := mototest.Session(t)
	vpc := newVpc(t, s, "10.20.0.0/16")
	addFlowLog(t, s, vpc, ec2types.TrafficTypeReject, "rejects")
	raw := enginetest.Sample(t, "events/config/vpc-change-notification.json", "vpc-06ff2643980c830c4", vpc)
	res, calls := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, logsDest), raw)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != vpc || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied ec2:CreateFlowLogs"}) {
		t.Fatalf("decision = %+v", d)
	}
	if !strings.Contains(d.Reason, "no active flow log captures ALL traffic") || !strings.Contains(d.Reason, "REJECT") {
		t.Fatalf("reason = %q", d.Reason)
	}
	if want := []string{"DescribeVpcs", "DescribeFlowLogs", "CreateFlowLogs", "StarlingDoveService.PutEvaluations"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	// With trafficType REJECT (from the Config rule's parameters), the
	// existing REJECT flow log would have been enough.
	raw = []byte(strings.Replace(string(raw), `"{\"trafficType\": \"ALL\"}"`, `"{\"trafficType\": \"REJECT\"}"`, 1))
	res, _ = enginetest.Recorded(t, newEngine(t, s, engine.Enforce, logsDest), raw)
	if d := res.Decisions[0]; d.Verdict != rule.Compliant {
		t.Fatalf("REJECT decision = %+v", d)
	}
}

func TestGoneVpcIsNotApplicable(t *testing.T) {
	s := mototest.Session(t)
	res, _ := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, logsDest), enginetest.Sample(t, "events/cloudtrail/ec2-create-vpc.json"))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, "no longer exists") {
		t.Fatalf("decision = %+v", d)
	}
}

func TestOfflinePlanMakesNoCall(t *testing.T) {
	mototest.Session(t)
	e := newEngine(t, awsclient.NewOffline("us-east-1"), engine.Enforce, logsDest)
	for file, want := range map[string]rule.Verdict{
		"cloudtrail/ec2-create-vpc.json":             rule.Violation,
		"cloudtrail/ec2-delete-flow-logs-multi.json": rule.NotApplicable,
		"cloudtrail/ec2-delete-flow-logs-list.json":  rule.NotApplicable,
		"cloudtrail/ec2-delete-flow-logs.json":       rule.NotApplicable,
		"config/vpc-change-notification.json":        rule.NotApplicable,
	} {
		res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/"+file))
		if len(calls) != 0 {
			t.Fatalf("%s: offline calls = %v", file, calls)
		}
		if d := res.Decisions[0]; d.Verdict != want {
			t.Fatalf("%s: %+v", file, d)
		}
	}
}

func TestApplyErrors(t *testing.T) {
	s := mototest.Session(t)
	b, err := rule.BindWith(vpcflowlogs.Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := rule.Env{Session: s}
	create := rule.NewAction("ec2:CreateFlowLogs", "vpc-0123456789abcdef0", "", map[string]string{"vpcId": "vpc-0123456789abcdef0",
		"trafficType": "ALL", "destinationType": "cloud-watch-logs", "logGroupName": logGroup, "deliverLogsRoleArn": roleARN, "token": "rampart-t1"}, nil)
	// The VPC is gone (InvalidVpcID.NotFound): nothing to do.
	if err := b.Apply(ctx, env, create); !errors.Is(err, rule.ErrNoOp) {
		t.Fatalf("create on a missing VPC = %v, want ErrNoOp", err)
	}
	vpc := newVpc(t, s, "10.8.0.0/16")
	create = rule.NewAction("ec2:CreateFlowLogs", vpc, "", map[string]string{"vpcId": vpc,
		"trafficType": "ALL", "destinationType": "cloud-watch-logs", "logGroupName": logGroup, "deliverLogsRoleArn": roleARN, "token": "rampart-t2"}, nil)
	if err := b.Apply(ctx, env, create); err != nil {
		t.Fatal(err)
	}
	// An identical flow log already exists: a no-op, not a failure.
	create.Params = json.RawMessage(strings.Replace(string(create.Params), "rampart-t2", "rampart-t3", 1))
	if err := b.Apply(ctx, env, create); !errors.Is(err, rule.ErrNoOp) {
		t.Fatalf("duplicate create = %v, want ErrNoOp", err)
	}
	del := rule.NewAction("ec2:DeleteFlowLogs", vpc, "", map[string]string{"vpcId": vpc, "token": "rampart-other"}, nil)
	if err := b.Apply(ctx, env, del); !errors.Is(err, rule.ErrNoOp) {
		t.Fatalf("undo of a flow log that is not there = %v, want ErrNoOp", err)
	}
	if got := flowLogsOf(t, s, vpc); len(got) != 1 {
		t.Fatalf("an undo with another token deleted: %v", got)
	}
}
