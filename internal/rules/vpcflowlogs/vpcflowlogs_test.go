package vpcflowlogs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func call(name, req, resp string) *trigger.APICall {
	return &trigger.APICall{EventName: name, EventSource: "ec2.amazonaws.com", Region: "us-east-1",
		Request: json.RawMessage(req), Response: json.RawMessage(resp)}
}

func TestTargetsOnSampleEvents(t *testing.T) {
	for _, c := range []struct {
		file string
		id   string
		ev   any
	}{
		{"ec2-create-vpc.json", "vpc-06ff2643980c830c4", created{}},
		{"ec2-delete-flow-logs.json", "fl-0b15e95db3dc66883", deleted{[]string{"fl-0b15e95db3dc66883"}}},
		{"ec2-delete-flow-logs-multi.json", "fl-036fa3acabcfa344a,fl-060b30d3acb70852e", deleted{[]string{"fl-036fa3acabcfa344a", "fl-060b30d3acb70852e"}}},
		{"ec2-delete-flow-logs-list.json", "fl-036fa3acabcfa344a,fl-060b30d3acb70852e", deleted{[]string{"fl-036fa3acabcfa344a", "fl-060b30d3acb70852e"}}},
	} {
		t.Run(c.file, func(t *testing.T) {
			ts, err := targets(enginetest.Call(t, "events/cloudtrail/"+c.file), params{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != 1 || ts[0].ID != c.id || ts[0].Type != ResourceType || ts[0].Region != "us-east-1" {
				t.Fatalf("targets = %+v", ts)
			}
			if fmt.Sprint(ts[0].Evidence) != fmt.Sprint(c.ev) {
				t.Fatalf("evidence = %+v, want %+v", ts[0].Evidence, c.ev)
			}
		})
	}
}

func TestTargetsShapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, event, req, resp string
		ids                    []string
		err                    string
	}{
		{"flowLogIds items", "DeleteFlowLogs", `{"flowLogIds":{"items":[{"flowLogId":"fl-1"},{"flowLogId":"fl-2"}]}}`, `null`, []string{"fl-1", "fl-2"}, ""},
		{"flowLogId single string", "DeleteFlowLogs", `{"flowLogId":"fl-1"}`, `null`, []string{"fl-1"}, ""},
		{"wrapped string", "DeleteFlowLogs", `{"DeleteFlowLogsRequest":{"FlowLogId":"fl-1"}}`, `null`, []string{"fl-1"}, ""},
		{"wrapped list with a duplicate", "DeleteFlowLogs", `{"DeleteFlowLogsRequest":{"FlowLogId":[{"content":"fl-1","tag":1},{"content":"fl-1","tag":2}]}}`, `null`, []string{"fl-1"}, ""},
		{"content as a one-element array", "DeleteFlowLogs", `{"DeleteFlowLogsRequest":{"FlowLogId":{"content":["fl-9"]}}}`, `null`, []string{"fl-9"}, ""},
		{"no ID", "DeleteFlowLogs", `{"DeleteFlowLogsRequest":{"FlowLogId":""}}`, `null`, nil, "no flow log ID"},
		{"null request", "DeleteFlowLogs", `null`, `null`, nil, "no flow log ID"},
		{"not a flow log", "DeleteFlowLogs", `{"flowLogId":["vpc-1"]}`, `null`, nil, "not a flow log ID"},
		{"wrong type", "DeleteFlowLogs", `{"flowLogId":[42]}`, `null`, []string{"fl-"}, "not a flow log ID"},
		{"request of the wrong kind", "DeleteFlowLogs", `{"DeleteFlowLogsRequest":"x"}`, `null`, nil, "requestParameters"},
		{"CreateVpc wrapped", "CreateVpc", `{}`, `{"CreateVpcResponse":{"vpc":{"vpcId":"vpc-1"}}}`, []string{"vpc-1"}, ""},
		{"CreateVpc without response", "CreateVpc", `{}`, `null`, nil, "names no vpc"},
		{"CreateVpc bad response", "CreateVpc", `{}`, `{"vpc":[1]}`, nil, "responseElements"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, err := targets(call(c.event, c.req, c.resp), params{})
			if c.err != "" {
				if !errors.Is(err, trigger.ErrInput) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want ErrInput with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Split(ts[0].ID, ","); !slices.Equal(got, c.ids) {
				t.Fatalf("IDs = %v, want %v", got, c.ids)
			}
		})
	}
	if ts, err := targets(call("CreateFlowLogs", `{}`, `null`), params{}); err != nil || ts != nil {
		t.Fatalf("another event: %v, %v", ts, err)
	}
}

// bound are the typed parameters of the overrides.
func bound(t *testing.T, over map[string]string) params {
	t.Helper()
	p, err := meta.Resolve(over)
	if err != nil {
		t.Fatal(err)
	}
	out, err := parse(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fl(id, vpc, status string, traffic ec2types.TrafficType) ec2types.FlowLog {
	return ec2types.FlowLog{FlowLogId: aws.String(id), ResourceId: aws.String(vpc), FlowLogStatus: aws.String(status),
		TrafficType: traffic, LogDestinationType: ec2types.LogDestinationTypeCloudWatchLogs}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	logs := map[string][]ec2types.FlowLog{
		"none":            nil,
		"all active":      {fl("fl-1", "vpc-a", "ACTIVE", ec2types.TrafficTypeAll)},
		"reject only":     {fl("fl-1", "vpc-a", "ACTIVE", ec2types.TrafficTypeReject)},
		"all, not active": {fl("fl-1", "vpc-a", "INACTIVE", ec2types.TrafficTypeAll)},
		"another VPC's":   {fl("fl-1", "vpc-b", "ACTIVE", ec2types.TrafficTypeAll)},
		"subnet's":        {fl("fl-1", "subnet-1", "ACTIVE", ec2types.TrafficTypeAll)},
	}
	withDest := map[string]string{ParamLogGroup: "vpc-flow-logs", ParamRole: "arn:aws:iam::123456789012:role/flow-logs"}
	for _, c := range []struct {
		logs    string
		traffic string
		want    rule.Verdict
	}{
		{"none", "ALL", rule.Violation},
		{"all active", "ALL", rule.Compliant},
		{"all active", "REJECT", rule.Compliant},
		{"reject only", "ALL", rule.Violation},
		{"reject only", "REJECT", rule.Compliant},
		{"reject only", "ACCEPT", rule.Violation},
		{"all, not active", "ALL", rule.Violation},
		{"another VPC's", "ALL", rule.Violation},
		{"subnet's", "ALL", rule.Violation},
	} {
		t.Run(c.logs+"/"+c.traffic, func(t *testing.T) {
			over := map[string]string{ParamTrafficType: c.traffic}
			for k, v := range withDest {
				over[k] = v
			}
			vpc := ec2types.Vpc{VpcId: aws.String("vpc-a"), Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("net")}}}
			f := judgeVPC(vpcOf(vpc, logs[c.logs]), bound(t, over), "")
			if f.Verdict != c.want || f.Resource != "vpc-a" || f.Tags["team"] != "net" {
				t.Fatalf("finding = %+v", f)
			}
			if c.want == rule.Violation {
				if len(f.Actions) != 1 || f.Actions[0].API != apiCreate || f.Actions[0].Undo == nil || f.Actions[0].Undo.API != apiDelete {
					t.Fatalf("plan = %+v", f.Actions)
				}
				var p createParams
				if err := f.Actions[0].Decode(&p); err != nil {
					t.Fatal(err)
				}
				if p.VpcID != "vpc-a" || p.TrafficType != c.traffic || p.LogGroupName != "vpc-flow-logs" || !strings.HasPrefix(p.Token, "rampart-") {
					t.Fatalf("create params = %+v", p)
				}
			}
		})
	}
}

func TestDestinations(t *testing.T) {
	t.Parallel()
	vpc := ec2types.Vpc{VpcId: aws.String("vpc-a")}
	for _, c := range []struct {
		name    string
		over    map[string]string
		actions int
		reason  string
	}{
		{"nothing configured", nil, 0, "reports only"},
		{"log group without a role", map[string]string{ParamLogGroup: "g"}, 0, "reports only"},
		{"s3 without a bucket", map[string]string{ParamDestinationType: "s3", ParamLogGroup: "g", ParamRole: "arn:aws:iam::1:role/r"}, 0, "reports only"},
		{"s3", map[string]string{ParamDestinationType: "s3", ParamBucket: "arn:aws:s3:::flow-logs"}, 1, "to arn:aws:s3:::flow-logs"},
		{"logs", map[string]string{ParamLogGroup: "g", ParamRole: "arn:aws:iam::1:role/r"}, 1, "to log group g"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := judgeVPC(vpcOf(vpc, nil), bound(t, c.over), "")
			if f.Verdict != rule.Violation || len(f.Actions) != c.actions {
				t.Fatalf("finding = %+v", f)
			}
			text := f.Reason
			if len(f.Actions) > 0 {
				text = f.Actions[0].Reason
			}
			if !strings.Contains(text, c.reason) {
				t.Fatalf("%q does not say %q", text, c.reason)
			}
		})
	}
}

func TestParamChecks(t *testing.T) {
	t.Parallel()
	for _, over := range []map[string]string{
		{ParamTrafficType: "SOME"},
		{ParamDestinationType: "kinesis-data-firehose"},
		{ParamRole: "flow-logs-role"},
		{ParamBucket: "flow-logs-bucket"},
		{ParamBucket: "arn:aws:s3:::"},
	} {
		if _, err := meta.Resolve(over); err == nil {
			t.Errorf("%v accepted", over)
		}
	}
}

func TestOffline(t *testing.T) {
	t.Parallel()
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	ctx := context.Background()
	b, err := rule.BindWith(Rule, map[string]string{ParamLogGroup: "g", ParamRole: "arn:aws:iam::1:role/r"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.Evaluate(ctx, env, rule.Target{ID: "vpc-1", Evidence: created{}})
	if err != nil || f.Verdict != rule.Violation || len(f.Actions) != 1 {
		t.Fatalf("CreateVpc offline = %+v, %v", f, err)
	}
	f, err = b.Evaluate(ctx, env, rule.Target{ID: "fl-1", Evidence: deleted{[]string{"fl-1"}}})
	if err != nil || f.Verdict != rule.NotApplicable || !strings.Contains(f.Reason, "does not name their VPCs") {
		t.Fatalf("DeleteFlowLogs offline = %+v, %v", f, err)
	}
	f, err = b.Evaluate(ctx, env, rule.Target{ID: "vpc-1"})
	if err != nil || f.Verdict != rule.NotApplicable {
		t.Fatalf("Config offline = %+v, %v", f, err)
	}
}

func TestApplyRejectsBadParams(t *testing.T) {
	t.Parallel()
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")} // no call may be made: the params are refused first
	for _, a := range []rule.Action{
		rule.NewAction(apiCreate, "vpc-1", "", createParams{VpcID: "vpc-1", TrafficType: "ALL"}, nil),
		rule.NewAction(apiCreate, "vpc-1", "", createParams{VpcID: "vpc-1", TrafficType: "ALL", Token: "t", DestinationType: "s3"}, nil),
		rule.NewAction(apiCreate, "vpc-1", "", createParams{VpcID: "vpc-1", TrafficType: "ALL", Token: "t", DestinationType: "cloud-watch-logs"}, nil),
		rule.NewAction(apiCreate, "vpc-1", "", createParams{VpcID: "vpc-1", TrafficType: "ALL", Token: "t", DestinationType: "firehose"}, nil),
		rule.NewAction(apiDelete, "vpc-1", "", deleteParams{VpcID: "vpc-1"}, nil),
		rule.NewAction("ec2:DeleteVpc", "vpc-1", "", deleteParams{VpcID: "vpc-1", Token: "t"}, nil),
		{API: apiCreate, Target: "vpc-1"},
	} {
		if err := apply(context.Background(), env, a); err == nil {
			t.Errorf("%s %s accepted", a.API, a.Params)
		}
	}
}

func FuzzTargets(f *testing.F) {
	for _, name := range []string{"ec2-create-vpc.json", "ec2-delete-flow-logs.json", "ec2-delete-flow-logs-multi.json", "ec2-delete-flow-logs-list.json"} {
		c := enginetest.Call(f, "events/cloudtrail/"+name)
		f.Add(c.EventName, []byte(c.Request), []byte(c.Response))
	}
	f.Fuzz(func(t *testing.T, event string, req, resp []byte) {
		c := call(event, string(req), string(resp))
		if !json.Valid(req) || !json.Valid(resp) {
			return
		}
		ts, err := targets(c, params{})
		if err != nil && !errors.Is(err, trigger.ErrInput) {
			t.Fatalf("error without ErrInput: %v", err)
		}
		for _, tg := range ts {
			if tg.ID == "" {
				t.Fatal("empty target ID")
			}
		}
	})
}

// TestJudgeStates: a VPC, a new VPC (offline), and what a deletion left.
func TestJudgeStates(t *testing.T) {
	t.Parallel()
	p := params{Traffic: "ALL", Dest: &createParams{TrafficType: "ALL", DestinationType: DestinationLogs, LogGroupName: "g", RoleARN: "arn:aws:iam::123456789012:role/r"}, DestText: "log group g"}
	bare := vpc{ID: "vpc-a", Tags: map[string]string{"team": "net"}}
	bare2 := vpc{ID: "vpc-b"}
	covered := vpc{ID: "vpc-c", Logs: []flowLog{{ID: "fl-9", Status: "ACTIVE", Traffic: "ALL", Destination: "s3"}}}
	for _, c := range []struct {
		name    string
		s       state
		p       params
		verdict rule.Verdict
		reason  string
		actions int
	}{
		{"covered VPC", state{VPCs: []vpc{covered}}, p, rule.Compliant, "flow log fl-9 is active (ALL traffic to s3)", 0},
		{"bare VPC", state{VPCs: []vpc{bare}}, p, rule.Violation, "no active flow log captures ALL traffic", 1},
		{"bare VPC, no destination", state{VPCs: []vpc{bare}}, params{Traffic: "ALL"}, rule.Violation, "so Rampart reports only", 0},
		{"new VPC (planned)", state{VPCs: []vpc{{ID: "vpc-n"}}, New: true}, p, rule.Violation, "a new VPC has no flow log", 1},
		{"deletion left every VPC covered", state{Deleted: []string{"fl-1"}}, p, rule.Compliant, "every VPC still has an active flow log after fl-1 were deleted", 0},
		{"deletion left one VPC bare", state{Deleted: []string{"fl-1"}, VPCs: []vpc{bare}}, p, rule.Violation,
			"the deletion of fl-1 left the VPC without an active flow log: no active flow log captures ALL", 1},
		{"deletion left several VPCs bare", state{Deleted: []string{"fl-1", "fl-2"}, VPCs: []vpc{bare, bare2}}, p, rule.Violation,
			"after the deletion of fl-1, fl-2, 2 VPCs lack an active flow log (vpc-a, vpc-b)", 0},
		{"no VPC", state{}, p, rule.NotApplicable, "no VPC to judge", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := judge(c.s, rule.Target{Type: ResourceType}, c.p, rule.Facts{Region: "us-east-1"})
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.reason) || len(f.Actions) != c.actions {
				t.Fatalf("finding = %s %q %d actions", f.Verdict, f.Reason, len(f.Actions))
			}
			if len(c.s.VPCs) == 1 && f.Resource != c.s.VPCs[0].ID {
				t.Fatalf("resource = %q", f.Resource)
			}
		})
	}
}

// TestPlanner: offline, a CreateVpc implies a VPC without a flow log; a
// deletion or a Config item does not decide.
func TestPlanner(t *testing.T) {
	t.Parallel()
	st, err := plan(rule.Target{ID: "vpc-1", Evidence: created{}}, params{})
	if err != nil || !st.New || len(st.VPCs) != 1 || st.VPCs[0].ID != "vpc-1" {
		t.Fatalf("created = %+v, %v", st, err)
	}
	for _, tc := range []struct {
		ev   any
		want string
	}{
		{deleted{[]string{"fl-1", "fl-2"}}, "the call deleted flow logs fl-1, fl-2, and the event does not name their VPCs"},
		{nil, "the trigger says nothing about the VPC's flow logs"},
	} {
		if _, err := plan(rule.Target{ID: "x", Evidence: tc.ev}, params{}); !errors.Is(err, rule.ErrUndecided) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.ev, err)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	p := bound(t, map[string]string{ParamTrafficType: "REJECT", ParamDestinationType: DestinationS3, ParamBucket: "arn:aws:s3:::flow-logs/vpc"})
	if p.Traffic != "REJECT" || p.Dest == nil || p.Dest.S3BucketARN != "arn:aws:s3:::flow-logs/vpc" || p.Dest.TrafficType != "REJECT" || p.DestText != "arn:aws:s3:::flow-logs/vpc" {
		t.Fatalf("s3 = %+v", p)
	}
	if p := bound(t, map[string]string{ParamLogGroup: "g"}); p.Dest != nil {
		t.Fatalf("a log group without a role is a destination: %+v", p.Dest)
	}
	for _, ok := range []string{"arn:aws:iam::123456789012:role/flow-logs", "arn:aws-us-gov:iam::123456789012:role/path/r"} {
		if err := checkRole(ok); err != nil {
			t.Errorf("checkRole(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"arn:aws:iam::123456789012:user/role/x", "arn:aws:s3:::role/x", "role/x"} {
		if checkRole(bad) == nil {
			t.Errorf("checkRole(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"arn:aws:s3:us-east-1:123456789012:accesspoint/x", "arn:aws:iam::123456789012:role/r"} {
		if checkBucket(bad) == nil {
			t.Errorf("checkBucket(%q) accepted", bad)
		}
	}
}
