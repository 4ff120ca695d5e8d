package sgopen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/engine"
	"github.com/rampart-aws/rampart/pkg/mototest"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/rules/sgopen"
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
	e, err := engine.New(engine.Config{Mode: mode, OwnRoles: ownRoles}, s, sgopen.OpenWorld)
	if err != nil {
		t.Fatal(err)
	}
	e.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	e.Metrics = io.Discard
	return e
}

func TestEnforceRevokesExactlyTheWorldOpenSSH(t *testing.T) {
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
	want := slices.DeleteFunc(slices.Clone(before), func(l string) bool { return l == "tcp 22-22 0.0.0.0/0" })
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
