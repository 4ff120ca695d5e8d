package sgopen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/sgopen"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

// seed makes a VPC and a group holding a mix of legitimate and offending
// ingress rules, and returns the group ID.
func seed(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	ctx := context.Background()
	client := awsclient.Client(s, ec2.NewFromConfig)
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web tier"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("lb"), Description: aws.String("load balancer"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	perms := []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{
			{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("oops")}, {CidrIp: aws.String("10.0.0.0/8")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
		{IpProtocol: aws.String("-1"), Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: other.GroupId}}},
	}
	if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perms}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(sg.GroupId)
}

// ingress lists the group's ingress as sorted "proto from-to source" lines.
func ingress(t *testing.T, s *awsclient.Session, id string) []string {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		pre := fmt.Sprintf("%s %d-%d ", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort))
		for _, r := range p.IpRanges {
			lines = append(lines, pre+aws.ToString(r.CidrIp))
		}
		for _, r := range p.Ipv6Ranges {
			lines = append(lines, pre+aws.ToString(r.CidrIpv6))
		}
		for _, g := range p.UserIdGroupPairs {
			lines = append(lines, pre+"sg")
			_ = g
		}
	}
	sort.Strings(lines)
	return lines
}

func authorizeEvent(groupID string, items string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"ev-1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2",
	"account":"123456789012","time":"2026-11-26T10:00:00Z","region":"us-east-1","resources":[],
	"detail":{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"mallory"},
	"eventTime":"2026-11-26T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"us-east-1",
	"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"groupId":%q,"ipPermissions":{"items":[%s]}},
	"responseElements":{"_return":true},"eventID":"0f7e5a1e-1111-2222-3333-444455556666","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}}`, groupID, items)
}

const sshWorldItem = `{"ipProtocol":"tcp","fromPort":22,"toPort":22,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}`

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, ownRoles ...string) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode, OwnRoles: ownRoles}, sgopen.OpenWorld)
	return e
}

// TestEnforceRevokesExactlyTheWorldOpenPermissions: the event names SSH, but
// the group's current state is judged as a whole, so the world-open
// all-traffic IPv6 rule it already had goes too; the restricted CIDR, the
// authorized https and the group reference stay.
func TestEnforceRevokesExactlyTheWorldOpenPermissions(t *testing.T) {
	s := mototest.Session(t)
	id := seed(t, s)
	before := ingress(t, s, id)
	e := newEngine(t, s, engine.Enforce)
	res, err := e.Handle(context.Background(), authorizeEvent(id, sshWorldItem))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Decisions) != 1 || res.Decisions[0].Verdict != rule.Violation {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	if got := res.Decisions[0].Actions[0].Outcome; got != rule.Applied {
		t.Fatalf("outcome = %s (%s)", got, res.Decisions[0].Actions[0].Error)
	}
	after := ingress(t, s, id)
	want := slices.DeleteFunc(slices.Clone(before), func(l string) bool { return l == "tcp 22-22 0.0.0.0/0" || l == "-1 0-0 ::/0" })
	if !slices.Equal(after, want) {
		t.Fatalf("after = %v\nwant  %v", after, want)
	}
	// The same event again: nothing left to do, and no error.
	res, err = e.Handle(context.Background(), authorizeEvent(id, sshWorldItem))
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("second delivery = %+v", d)
	}
	if got := ingress(t, s, id); !slices.Equal(got, want) {
		t.Fatalf("second delivery changed state: %v", got)
	}
}

func TestUndoRestores(t *testing.T) {
	s := mototest.Session(t)
	id := seed(t, s)
	before := ingress(t, s, id)
	e := newEngine(t, s, engine.Enforce)
	res, err := e.Handle(context.Background(), authorizeEvent(id, sshWorldItem))
	if err != nil {
		t.Fatal(err)
	}
	// Round-trip through JSON as the CLI does.
	raw, _ := json.Marshal(res)
	var back engine.Result
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	undone, err := e.Undo(context.Background(), back.Decisions)
	if err != nil || len(undone) != 1 || undone[0].Outcome != rule.Applied {
		t.Fatalf("undo = %+v, %v", undone, err)
	}
	if got := ingress(t, s, id); !slices.Equal(got, before) {
		t.Fatalf("after undo %v, want %v", got, before)
	}
}

// TestFewestCalls: a remediation is one describe and one revoke; a duplicate
// delivery is one describe.
func TestFewestCalls(t *testing.T) {
	s := mototest.Session(t)
	id := seed(t, s)
	e := newEngine(t, s, engine.Enforce)
	for _, want := range [][]string{
		{"DescribeSecurityGroups", "RevokeSecurityGroupIngress"},
		{"DescribeSecurityGroups"},
	} {
		_, calls := enginetest.Recorded(t, e, authorizeEvent(id, sshWorldItem))
		if !slices.Equal(calls, want) {
			t.Fatalf("calls = %v, want %v", calls, want)
		}
	}
}

func TestReportModeAndMalformedInputChangeNothing(t *testing.T) {
	s := mototest.Session(t)
	id := seed(t, s)
	before := ingress(t, s, id)
	res, err := newEngine(t, s, engine.Report).Handle(context.Background(), authorizeEvent(id, sshWorldItem))
	if err != nil || res.Decisions[0].Actions[0].Outcome != rule.Planned {
		t.Fatalf("report: %v %+v", err, res)
	}
	srv := mototest.Record(t)
	bad := authorizeEvent(id, `{"ipProtocol":"tcp","fromPort":"ssh","toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}`)
	if _, err := newEngine(t, s, engine.Enforce).Handle(context.Background(), bad); err == nil {
		t.Fatal("malformed input accepted")
	}
	if calls, _ := srv.Calls(); len(calls) != 0 {
		t.Fatalf("malformed input made calls: %v", calls)
	}
	if got := ingress(t, s, id); !slices.Equal(got, before) {
		t.Fatalf("state changed: %v", got)
	}
}

func TestConfigSweepFixesTheWholeGroup(t *testing.T) {
	s := mototest.Session(t)
	id := seed(t, s)
	e := newEngine(t, s, engine.Enforce)
	ev := fmt.Appendf(nil, `{"invokingEvent":%q,"ruleParameters":"{}","resultToken":"TESTMODE","eventLeftScope":false,"configRuleName":"rampart-sg-open-world"}`,
		`{"messageType":"ScheduledNotification","notificationCreationTime":"2026-11-26T10:00:00.000Z"}`)
	res, err := e.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	violations := 0
	for _, d := range res.Decisions {
		if d.Verdict == rule.Violation {
			violations++
		}
	}
	if violations != 1 {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	want := []string{"tcp 22-22 10.0.0.0/8", "tcp 443-443 0.0.0.0/0", "tcp 8080-8080 sg"}
	if got := ingress(t, s, id); !slices.Equal(got, want) {
		t.Fatalf("after sweep %v, want %v", got, want)
	}
}

// BenchmarkRemediation is the per-event handler time against moto: decode,
// describe, revoke, report. (moto's latency dominates; AWS's is similar.)
func BenchmarkRemediation(b *testing.B) {
	s := mototest.Session(b)
	ctx := context.Background()
	client := awsclient.Client(s, ec2.NewFromConfig)
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		b.Fatal(err)
	}
	sg, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("bench"), Description: aws.String("b"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		b.Fatal(err)
	}
	id := aws.ToString(sg.GroupId)
	e, _ := enginetest.New(b, s, engine.Config{Mode: engine.Enforce}, sgopen.OpenWorld)
	perm := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	ev := authorizeEvent(id, sshWorldItem)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perm}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := e.Handle(ctx, ev)
		if err != nil || res.Decisions[0].Actions[0].Outcome != rule.Applied {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkPlan is the offline decision alone: decode, target, evaluate.
func BenchmarkPlan(b *testing.B) {
	e, _ := enginetest.New(b, awsclient.NewOffline("us-east-1"), engine.Config{}, sgopen.OpenWorld)
	ev := authorizeEvent("sg-0123456789abcdef0", sshWorldItem)
	for b.Loop() {
		if _, err := e.Handle(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}
