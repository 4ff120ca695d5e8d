package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// Organization mode end to end: the central functions run under the RIE in
// moto's management account (123456789012) and act in the member accounts
// through the member role; moto answers sts:AssumeRole into another account
// with credentials that act there.
//
// moto can route events to another account's bus (a PutEvents target), but
// the forwarded event it makes gets the receiving account and region,
// whereas EventBridge keeps the original account and region of an event
// forwarded between buses. So the tests build the forwarded event as
// EventBridge delivers it: the member account's CloudTrail record, with
// "account" and "region" of where the call was made.

const (
	memberRole = "rampart/rampart-member"
	outsider   = "999999999999" // an account outside the organization
)

// forwarded is a member account's AuthorizeSecurityGroupIngress, opening
// SSH to the world, as the central bus delivers it.
func forwarded(account, region, groupID string) []byte {
	return fmt.Appendf(nil, `{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2",
	"account":%[1]q,"time":"2026-11-26T10:00:00Z","region":%[2]q,"resources":[],
	"detail":{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:mallory","arn":"arn:aws:sts::%[1]s:assumed-role/admin/mallory",
	"accountId":%[1]q,"accessKeyId":"ASIAEXAMPLE","sessionContext":{"attributes":{"mfaAuthenticated":"false"},
	"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::%[1]s:role/admin","accountId":%[1]q,"userName":"admin"}}},
	"eventTime":"2026-11-26T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":%[2]q,
	"sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2.15.0","requestParameters":{"groupId":%[3]q,"ipPermissions":{"items":[
	{"ipProtocol":"tcp","fromPort":22,"toPort":22,"groups":{},"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{},"prefixListIds":{}}]}},
	"responseElements":{"_return":true},"eventID":"0f7e5a1e-1111-2222-3333-444455556666","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":%[1]q}}`,
		account, region, groupID)
}

func sweepQueue(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	q, err := awsclient.Client(s, sqs.NewFromConfig).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("rampart-sweeps")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl)
}

func orgDeployment(org *mototest.Organization, function, queue string) lambdatest.Deployment {
	return lambdatest.Deployment{Mode: engine.Enforce, OwnRoles: []string{"arn:aws:iam::123456789012:role/rampart-" + function},
		Regions: []string{"us-east-1", "eu-west-1"}, OrgID: org.ID, MemberRole: memberRole, SweepQueue: queue}
}

func TestOrganizationEventsActInTheMemberAccount(t *testing.T) {
	s := mototest.Session(t)
	org := mototest.NewOrganization(t, s, 2, memberRole)
	member := mototest.In(t, s, org.Members[0], "eu-west-1")
	id := mototest.WorldSSHGroup(t, member, "web")
	out := mototest.In(t, s, outsider, "eu-west-1")
	outID := mototest.WorldSSHGroup(t, out, "web")
	f := deploy(t, "securitygroup", orgDeployment(org, "securitygroup", sweepQueue(t, s)))

	var ds []report.Decision
	calls := record(t, func() { ds = succeed(t, f, forwarded(org.Members[0], "eu-west-1", id)) })
	if len(ds) == 0 || ds[0].Rule != "sg-open-world" || ds[0].Verdict != rule.Violation || ds[0].Actions[0].Outcome != rule.Applied {
		t.Fatalf("member event:%s", summarize(ds))
	}
	if mototest.OpenToWorld(t, member, id) {
		t.Fatal("the member account's group is still open to the world")
	}
	if !slices.ContainsFunc(calls, func(c string) bool { return strings.HasSuffix(c, "AssumeRole") }) {
		t.Fatalf("no sts:AssumeRole into the member account: %v", calls)
	}

	// An account outside the organization: refused, no call into it (no
	// AssumeRole, no EC2 call), its group untouched.
	calls = record(t, func() { ds = succeed(t, f, forwarded(outsider, "eu-west-1", outID)) })
	for _, d := range ds {
		if d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "out of scope: event account "+outsider) {
			t.Fatalf("outsider event:%s", summarize(ds))
		}
	}
	for _, c := range calls {
		if strings.HasSuffix(c, "AssumeRole") || !strings.Contains(c, "Organizations") {
			t.Fatalf("a call other than listing the organization for an outsider's event: %v", calls)
		}
	}
	if !mototest.OpenToWorld(t, out, outID) {
		t.Fatal("the outsider's group was changed")
	}
}

// TestOrganizationSweepFansOut: a scheduled tick in each region sends one
// message per account to the sweep queue; each message, delivered as the
// SQS event source delivers it, sweeps that account in that region.
func TestOrganizationSweepFansOut(t *testing.T) {
	const vpcsPer = 5
	s := mototest.Session(t)
	org := mototest.NewOrganization(t, s, 2, memberRole)
	accounts := append([]string{mototest.Account}, org.Members...)
	regions := []string{"us-east-1", "eu-west-1"}
	want := map[string]bool{} // every VPC of every account and region
	for _, a := range accounts {
		for _, r := range regions {
			in := mototest.In(t, s, a, r)
			c := awsclient.Client(in, ec2.NewFromConfig)
			for i := range vpcsPer {
				if _, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", i))}); err != nil {
					t.Fatal(err)
				}
			}
			vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vpcs.Vpcs {
				want[a+"/"+r+"/"+aws.ToString(v.VpcId)] = true
			}
		}
	}
	got := map[string]bool{}
	var invocations int
	var wall time.Duration
	for _, region := range regions {
		home, err := s.For(ctx, "", region)
		if err != nil {
			t.Fatal(err)
		}
		queue := sweepQueue(t, home)
		d := orgDeployment(org, "ec2", queue)
		d.Mode = engine.Report // no flow-log destination configured: the rule reports
		f := deploy(t, "ec2", d, map[string]string{"AWS_REGION": region, "AWS_DEFAULT_REGION": region})
		began := time.Now()
		tick := fmt.Appendf(nil, `{"version":"0","id":"tick-%s","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
		"time":"2026-11-26T10:00:00Z","region":%q,"resources":["arn:aws:events:%s:123456789012:rule/rampart-vpc-flow-logs"],"detail":{}}`, region, region, region)
		ds := succeed(t, f, tick)
		if len(ds) != 1 || ds[0].Rule != "vpc-flow-logs" || !strings.Contains(ds[0].Reason, "fanned out") {
			t.Fatalf("tick in %s:%s", region, summarize(ds))
		}
		q := awsclient.Client(home, sqs.NewFromConfig)
		var seen []string
		for {
			msgs, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs.Messages) == 0 {
				break
			}
			for _, m := range msgs.Messages {
				var body struct{ Account, Region string }
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &body); err != nil {
					t.Fatal(err)
				}
				seen = append(seen, body.Account+"/"+body.Region)
				// Batch size 1, as the event source mapping delivers it.
				event, _ := json.Marshal(map[string]any{"Records": []map[string]any{{
					"messageId": aws.ToString(m.MessageId), "receiptHandle": aws.ToString(m.ReceiptHandle), "body": aws.ToString(m.Body),
					"attributes": map[string]string{"ApproximateReceiveCount": "1"}, "messageAttributes": map[string]any{},
					"md5OfBody": aws.ToString(m.MD5OfBody), "eventSource": "aws:sqs",
					"eventSourceARN": "arn:aws:sqs:" + region + ":123456789012:rampart-sweeps", "awsRegion": region}}})
				invocations++
				for _, d := range succeed(t, f, event) {
					if d.Rule != "vpc-flow-logs" || d.Trigger != "sweep" || d.Verdict != rule.Violation {
						t.Fatalf("sweep of %s/%s:%s", body.Account, body.Region, summarize([]report.Decision{d}))
					}
					got[body.Account+"/"+body.Region+"/"+d.Resource] = true
				}
				if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
		wall += time.Since(began)
		slices.Sort(seen)
		var wantSeen []string
		for _, a := range accounts {
			wantSeen = append(wantSeen, a+"/"+region)
		}
		slices.Sort(wantSeen)
		if !slices.Equal(seen, wantSeen) {
			t.Fatalf("sweep messages in %s: %v, want one per account %v", region, seen, wantSeen)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("VPC %s was not swept", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("swept %s, which is not a VPC of that account and region", k)
		}
	}
	t.Logf("organization sweep: %d accounts x %d regions x %d VPCs (+ default) = %d decisions in %d invocations, wall %s (fan-out + sequential sweeps under the RIE)",
		len(accounts), len(regions), vpcsPer, len(got), invocations+len(regions), wall.Round(time.Millisecond))
}
