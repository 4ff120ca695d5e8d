package notifystate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/notifystate"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/sgopen"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// The three real security-group rules overlap on a group open to the world
// on all traffic. sg-open-world hears the CloudTrail event and sends the
// one message, with who did it; Lambda's retry of the event sends nothing;
// Config's change-triggered invocation of each of the three rules about
// the same change (its relatedEvents name the CloudTrail event) sends
// nothing either, though two of them see a new violation: they fold into
// the event's message, and the digest lists them. When the owner closes
// the group (a change Config relates to no event here: the same
// configuration item reaches all three rules), one message says so.
func TestOverlappingSecurityGroupRulesSendOneMessage(t *testing.T) {
	ctx := context.Background()
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-notifications")
	if _, err := awsclient.Client(s, dynamodb.NewFromConfig).CreateTable(ctx, notifystate.CreateTableInput("rampart-state")); err != nil {
		t.Fatal(err)
	}
	client := awsclient.Client(s, ec2.NewFromConfig)
	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	rules := []rule.Rule{sgopen.OpenWorld, sgopen.RestrictedSSH, sgopen.RestrictedCommonPorts}
	e, err := engine.New(engine.Config{Mode: engine.Report, TopicARN: topic.ARN, Notify: engine.NotifyConfig{StateTable: "rampart-state"}}, s, rules...)
	if err != nil {
		t.Fatal(err)
	}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	id := aws.ToString(sg.GroupId)
	event := fmt.Appendf(nil, `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2",
	"account":"123456789012","time":"2026-11-26T10:00:00Z","region":"us-east-1","resources":[],
	"detail":{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/mallory","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"mallory"},
	"eventTime":"2026-11-26T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"us-east-1",
	"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"groupId":%q,"ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}]}},
	"responseElements":{"_return":true},"eventID":"0f7e5a1e-1111-2222-3333-444455556666","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}}`, id)
	res, err := e.Handle(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	got := topic.Received(t)
	if len(got) != 1 {
		t.Fatalf("%d messages for %d decisions: %+v", len(got), len(res.Decisions), got)
	}
	n := got[0]
	if n.Subject != "Rampart [high] sg-open-world on "+id+": new violation" {
		t.Errorf("subject %q", n.Subject)
	}
	for _, want := range []string{"sg-open-world", "Who:       arn:aws:iam::123456789012:user/mallory", "198.51.100.7"} {
		if !strings.Contains(n.Message, want) {
			t.Errorf("message lacks %q:\n%s", want, n.Message)
		}
	}
	if a := n.Attributes["rule"]; a != `["sg-open-world"]` {
		t.Errorf("rule attribute %q", a)
	}
	if _, err := e.Handle(ctx, event); err != nil {
		t.Fatal(err)
	}
	if again := topic.Received(t); len(again) != 0 {
		t.Fatalf("the retry sent %+v", again)
	}
	configChange := func(r rule.Rule, related []any) {
		t.Helper()
		raw := enginetest.ConfigInvocation(t, "sg-change-notification.json", r.Meta().ConfigRuleName(), "{}", func(_, item map[string]any) {
			item["resourceId"], item["relatedEvents"] = id, related
		})
		res, err := e.Handle(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if d := res.Decisions[0]; d.Verdict != rule.Violation {
			t.Fatalf("%s: %+v", r.Meta().ID, d)
		}
	}
	for _, r := range rules {
		configChange(r, []any{"0f7e5a1e-1111-2222-3333-444455556666"})
	}
	if again := topic.Received(t); len(again) != 0 {
		t.Fatalf("Config's evaluations of the same change sent %+v", again)
	}
	open, _, err := (&notifystate.Dynamo{Client: awsclient.Client(s, dynamodb.NewFromConfig), Table: "rampart-state"}).Open(ctx, 10)
	if err != nil || len(open) != 3 {
		t.Fatalf("open findings for the digest: %+v %v", open, err)
	}

	if _, err := client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		raw := enginetest.ConfigInvocation(t, "sg-change-notification.json", r.Meta().ConfigRuleName(), "{}", func(_, item map[string]any) {
			item["resourceId"], item["relatedEvents"] = id, []any{}
			item["configurationItemCaptureTime"] = "2026-11-26T12:00:00.000Z"
		})
		if res, err := e.Handle(ctx, raw); err != nil || res.Decisions[0].Verdict != rule.Compliant {
			t.Fatalf("%s: %v %+v", r.Meta().ID, err, res)
		}
	}
	got = topic.Received(t)
	if len(got) != 1 || got[0].Subject != "Rampart [high] sg-open-world on "+id+": resolved" {
		t.Fatalf("closing the group sent %+v", got)
	}
}
