package sgopen_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
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

// group makes a group (in vpc, or the default VPC when vpc is "") with the
// given ingress, and returns its ID.
func group(t *testing.T, s *awsclient.Session, name, vpc string, perms ...ec2types.IpPermission) string {
	t.Helper()
	ctx := context.Background()
	client := awsclient.Client(s, ec2.NewFromConfig)
	in := &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name)}
	if vpc != "" {
		in.VpcId = aws.String(vpc)
	}
	sg, err := client.CreateSecurityGroup(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(perms) > 0 {
		if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perms}); err != nil {
			t.Fatal(err)
		}
	}
	return aws.ToString(sg.GroupId)
}

func newVPC(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	vpc, err := awsclient.Client(s, ec2.NewFromConfig).CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(vpc.Vpc.VpcId)
}

func tcpFrom(from, to int32, cidrs ...string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(from), ToPort: aws.Int32(to)}
	for _, c := range cidrs {
		switch {
		case strings.HasPrefix(c, "pl-"):
			p.PrefixListIds = append(p.PrefixListIds, ec2types.PrefixListId{PrefixListId: aws.String(c)})
		case strings.Contains(c, ":"):
			p.Ipv6Ranges = append(p.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(c)})
		default:
			p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c), Description: aws.String("range " + c)})
		}
	}
	return p
}

// state lists a group's ingress as sorted "proto from-to source" lines,
// prefix lists and descriptions included.
func state(t *testing.T, s *awsclient.Session, id string) []string {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		pre := fmt.Sprintf("%s %d-%d ", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort))
		for _, r := range p.IpRanges {
			lines = append(lines, pre+aws.ToString(r.CidrIp)+" "+aws.ToString(r.Description))
		}
		for _, r := range p.Ipv6Ranges {
			lines = append(lines, pre+aws.ToString(r.CidrIpv6))
		}
		for _, r := range p.PrefixListIds {
			lines = append(lines, pre+aws.ToString(r.PrefixListId))
		}
	}
	sort.Strings(lines)
	return lines
}

// event is an AuthorizeSecurityGroupIngress record with the given
// requestParameters.
func event(request string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"ev-2","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2",
	"account":"123456789012","time":"2026-11-26T10:00:00Z","region":"us-east-1","resources":[],
	"detail":{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"mallory"},
	"eventTime":"2026-11-26T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"us-east-1",
	"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":%s,
	"responseElements":{"_return":true},"eventID":"0f7e5a1e-1111-2222-3333-444455556667","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}}`, request)
}

func item(proto string, from, to int, cidr string) string {
	src := fmt.Sprintf(`"ipRanges":{"items":[{"cidrIp":%q}]}`, cidr)
	switch {
	case strings.HasPrefix(cidr, "pl-"):
		src = fmt.Sprintf(`"prefixListIds":{"items":[{"prefixListId":%q}]}`, cidr)
	case strings.Contains(cidr, ":"):
		src = fmt.Sprintf(`"ipv6Ranges":{"items":[{"cidrIpv6":%q}]}`, cidr)
	}
	return fmt.Sprintf(`{"ipProtocol":%q,"fromPort":%d,"toPort":%d,%s}`, proto, from, to, src)
}

func byID(id string, items ...string) []byte {
	return event(fmt.Sprintf(`{"groupId":%q,"ipPermissions":{"items":[%s]}}`, id, strings.Join(items, ",")))
}

// remediate runs the event in enforce mode and checks the calls made, the
// state after, and that the undo restores the state before.
func remediate(t *testing.T, s *awsclient.Session, e *engine.Engine, id string, ev []byte, wantCalls, wantAfter []string) {
	t.Helper()
	before := state(t, s, id)
	res, calls := enginetest.RecordedOne(t, e, ev)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if !slices.Equal(calls, wantCalls) {
		t.Fatalf("calls = %v, want %v", calls, wantCalls)
	}
	if got := state(t, s, id); !slices.Equal(got, wantAfter) {
		t.Fatalf("after = %v\nwant    %v", got, wantAfter)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied ec2:AuthorizeSecurityGroupIngress"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := state(t, s, id); !slices.Equal(got, before) {
		t.Fatalf("after undo = %v\nwant          %v", got, before)
	}
}

// TestSplitHalvesInTwoPermissions: 0.0.0.0/1 on 0-1000 and 128.0.0.0/1 on
// 20-30 together admit the world on 22; both go, the /8 on 22 and the half
// on https stay. One describe, one revoke.
func TestSplitHalvesInTwoPermissions(t *testing.T) {
	s := mototest.Session(t)
	id := group(t, s, "halves", newVPC(t, s), tcpFrom(22, 22, "10.0.0.0/8"), tcpFrom(443, 443, "0.0.0.0/1"))
	// The call adds both halves.
	client := awsclient.Client(s, ec2.NewFromConfig)
	if _, err := client.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpPermissions: []ec2types.IpPermission{tcpFrom(0, 1000, "0.0.0.0/1"), tcpFrom(20, 30, "128.0.0.0/1")}}); err != nil {
		t.Fatal(err)
	}
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, sgopen.OpenWorld)
	remediate(t, s, e, id, byID(id, item("tcp", 0, 1000, "0.0.0.0/1"), item("tcp", 20, 30, "128.0.0.0/1")),
		[]string{"DescribeSecurityGroups", "RevokeSecurityGroupIngress"},
		[]string{"tcp 22-22 10.0.0.0/8 range 10.0.0.0/8", "tcp 443-443 0.0.0.0/1 range 0.0.0.0/1"})
}

// TestSecondHalfInALaterCall: the first call opens half the internet
// (compliant: one describe); the second adds the other half, and its event
// — which shows only 128.0.0.0/1 — is judged against the whole group.
func TestSecondHalfInALaterCall(t *testing.T) {
	s := mototest.Session(t)
	id := group(t, s, "later", newVPC(t, s), tcpFrom(22, 22, "203.0.113.0/24"))
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, sgopen.OpenWorld)
	client := awsclient.Client(s, ec2.NewFromConfig)
	authorize := func(p ec2types.IpPermission) {
		if _, err := client.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{p}}); err != nil {
			t.Fatal(err)
		}
	}
	authorize(tcpFrom(22, 22, "0.0.0.0/1"))
	res, calls := enginetest.RecordedOne(t, e, byID(id, item("tcp", 22, 22, "0.0.0.0/1")))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant || !slices.Equal(calls, []string{"DescribeSecurityGroups"}) {
		t.Fatalf("first half: %+v, calls %v", d, calls)
	}
	authorize(tcpFrom(22, 22, "128.0.0.0/1"))
	remediate(t, s, e, id, byID(id, item("tcp", 22, 22, "128.0.0.0/1")),
		[]string{"DescribeSecurityGroups", "RevokeSecurityGroupIngress"},
		[]string{"tcp 22-22 203.0.113.0/24 range 203.0.113.0/24"})
}

// TestIPv6Halves: ::/1 and 8000::/1 on RDP go; 2001:db8::/32 stays.
func TestIPv6Halves(t *testing.T) {
	s := mototest.Session(t)
	id := group(t, s, "v6", newVPC(t, s), tcpFrom(3389, 3389, "::/1", "8000::/1", "2001:db8::/32"))
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, sgopen.OpenWorld)
	remediate(t, s, e, id, byID(id, item("tcp", 3389, 3389, "8000::/1")),
		[]string{"DescribeSecurityGroups", "RevokeSecurityGroupIngress"},
		[]string{"tcp 3389-3389 2001:db8::/32"})
}

// TestPrefixListCoveringTheWorld: a managed prefix list whose entries cover
// IPv4 is world-open; the reference to it is revoked (the list itself is
// left alone: other groups may use it), an office list and a /8 stay.
func TestPrefixListCoveringTheWorld(t *testing.T) {
	s := mototest.Session(t)
	ctx := context.Background()
	client := awsclient.Client(s, ec2.NewFromConfig)
	list := func(name string, cidrs ...string) string {
		in := &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String(name), AddressFamily: aws.String("IPv4"), MaxEntries: aws.Int32(10)}
		for _, c := range cidrs {
			in.Entries = append(in.Entries, ec2types.AddPrefixListEntry{Cidr: aws.String(c)})
		}
		out, err := client.CreateManagedPrefixList(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.PrefixList.PrefixListId)
	}
	world := list("everyone", "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2")
	office := list("office", "198.51.100.0/24")
	id := group(t, s, "pl", newVPC(t, s), tcpFrom(22, 22, world, office, "10.0.0.0/8"))
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, sgopen.OpenWorld)
	remediate(t, s, e, id, byID(id, item("tcp", 22, 22, world)),
		[]string{"DescribeSecurityGroups", "GetManagedPrefixListEntries", "GetManagedPrefixListEntries", "RevokeSecurityGroupIngress"},
		[]string{"tcp 22-22 10.0.0.0/8 range 10.0.0.0/8", "tcp 22-22 " + office})
}

// TestNameOnlyRecord: a pre-2021 record names the group "web" only by name.
// A group of that name exists in the default VPC and in another VPC; AWS
// applied the call to the default VPC's, and so does the remediation.
func TestNameOnlyRecord(t *testing.T) {
	s := mototest.Session(t)
	inDefault := group(t, s, "web", "", tcpFrom(22, 22, "0.0.0.0/0", "10.0.0.0/8"))
	elsewhere := group(t, s, "web", newVPC(t, s), tcpFrom(22, 22, "0.0.0.0/0"))
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, sgopen.OpenWorld)
	before := state(t, s, elsewhere)
	ev := event(`{"groupName":"web","ipPermissions":{"items":[` + item("tcp", 22, 22, "0.0.0.0/0") + `]}}`)
	res, calls := enginetest.RecordedOne(t, e, ev)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != inDefault || d.Actions[0].Target != inDefault || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"DescribeSecurityGroups", "DescribeVpcs", "RevokeSecurityGroupIngress"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	if got := state(t, s, inDefault); !slices.Equal(got, []string{"tcp 22-22 10.0.0.0/8 range 10.0.0.0/8"}) {
		t.Fatalf("default VPC group after = %v", got)
	}
	if got := state(t, s, elsewhere); !slices.Equal(got, before) {
		t.Fatalf("the other VPC's group changed: %v", got)
	}
	// A name no group has any more: nothing to do, one describe.
	res, calls = enginetest.RecordedOne(t, e, event(`{"groupName":"ghost","ipPermissions":{"items":[`+item("tcp", 22, 22, "0.0.0.0/0")+`]}}`))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || !slices.Equal(calls, []string{"DescribeSecurityGroups"}) {
		t.Fatalf("ghost: %+v, calls %v", d, calls)
	}
	// The name exists, but only outside the default VPC.
	group(t, s, "api", newVPC(t, s), tcpFrom(22, 22, "0.0.0.0/0"))
	res, _ = enginetest.RecordedOne(t, e, event(`{"groupName":"api","ipPermissions":{"items":[`+item("tcp", 22, 22, "0.0.0.0/0")+`]}}`))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, "default VPC") || len(d.Actions) != 0 {
		t.Fatalf("api: %+v", d)
	}
}

// TestNameOnlyRecordWithoutDefaultVPC: with no default VPC, a name shared
// by groups in two VPCs is ambiguous: an error decision naming both, and no
// mutating call.
func TestNameOnlyRecordWithoutDefaultVPC(t *testing.T) {
	s := mototest.Session(t)
	ctx := context.Background()
	client := awsclient.Client(s, ec2.NewFromConfig)
	deleteDefaultVPC(t, client)
	a := group(t, s, "db", newVPC(t, s), tcpFrom(3306, 3306, "0.0.0.0/0"))
	b := group(t, s, "db", newVPC(t, s), tcpFrom(3306, 3306, "0.0.0.0/0"))
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, sgopen.OpenWorld)
	srv := mototest.Record(t)
	res, err := e.Handle(ctx, event(`{"groupName":"db","ipPermissions":{"items":[`+item("tcp", 3306, 3306, "0.0.0.0/0")+`]}}`))
	calls := srv.Recorded(t)
	if !errors.Is(err, engine.ErrFailed) || len(res.Decisions) != 1 {
		t.Fatalf("handle = %+v, %v", res, err)
	}
	d := res.Decisions[0]
	if d.Verdict != engine.ErrorVerdict || !strings.Contains(d.Error, "ambiguous") || !strings.Contains(d.Error, a) || !strings.Contains(d.Error, b) || len(d.Actions) != 0 {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"DescribeSecurityGroups", "DescribeVpcs"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
}

// deleteDefaultVPC removes the region's default VPC and what moto puts in it.
func deleteDefaultVPC(t *testing.T, client *ec2.Client) {
	t.Helper()
	ctx := context.Background()
	out, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil || len(out.Vpcs) != 1 {
		t.Fatalf("default VPC: %v %v", out, err)
	}
	vpc := out.Vpcs[0].VpcId
	filter := []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{aws.ToString(vpc)}}}
	subnets, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: filter})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range subnets.Subnets {
		if _, err := client.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.SubnetId}); err != nil {
			t.Fatal(err)
		}
	}
	igws, err := client.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.vpc-id"), Values: []string{aws.ToString(vpc)}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range igws.InternetGateways {
		if _, err := client.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: g.InternetGatewayId, VpcId: vpc}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: g.InternetGatewayId}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc}); err != nil {
		t.Fatal(err)
	}
}

// TestSweepReadsEachPrefixListOnce: two groups reference the same
// world-covering list; the Config sweep reads it once and revokes both
// references.
func TestSweepReadsEachPrefixListOnce(t *testing.T) {
	s := mototest.Session(t)
	client := awsclient.Client(s, ec2.NewFromConfig)
	out, err := client.CreateManagedPrefixList(context.Background(), &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String("all"),
		AddressFamily: aws.String("IPv6"), MaxEntries: aws.Int32(5),
		Entries: []ec2types.AddPrefixListEntry{{Cidr: aws.String("::/1")}, {Cidr: aws.String("8000::/1")}}})
	if err != nil {
		t.Fatal(err)
	}
	pl := aws.ToString(out.PrefixList.PrefixListId)
	vpc := newVPC(t, s)
	g1 := group(t, s, "one", vpc, tcpFrom(22, 22, pl))
	g2 := group(t, s, "two", vpc, tcpFrom(3389, 3389, pl))
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, sgopen.RestrictedCommonPorts)
	ev := fmt.Appendf(nil, `{"invokingEvent":%q,"ruleParameters":"{}","resultToken":"TESTMODE","eventLeftScope":false,"configRuleName":"rampart-sg-restricted-common-ports"}`,
		`{"messageType":"ScheduledNotification","notificationCreationTime":"2026-11-26T10:00:00.000Z"}`)
	res, calls := enginetest.Recorded(t, e, ev)
	if n := strings.Count(strings.Join(calls, " "), "GetManagedPrefixListEntries"); n != 1 {
		t.Fatalf("prefix list read %d times: %v", n, calls)
	}
	violations := 0
	for _, d := range res.Decisions {
		if d.Verdict == rule.Violation {
			violations++
			if d.Resource != g2 {
				t.Errorf("violation on %s", d.Resource)
			}
		}
	}
	if violations != 1 {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	// 22 is not a common port: that reference stays.
	if got := state(t, s, g1); !slices.Equal(got, []string{"tcp 22-22 " + pl}) {
		t.Fatalf("g1 = %v", got)
	}
	if got := state(t, s, g2); len(got) != 0 {
		t.Fatalf("g2 = %v", got)
	}
}
