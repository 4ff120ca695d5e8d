package securityfindings_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/securityfindings"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// moto serves neither GuardDuty's nor Inspector's findings as events: the
// events are the samples under events/service (real-shaped, from AWS's
// documentation), with the invented resource IDs replaced by live ones. What
// Rampart reads of the resource (EC2, IAM, S3) moto serves.

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

const (
	gdInstance   = "events/service/guardduty-finding-ec2-bitcoin-dns.json"
	gdUser       = "events/service/guardduty-finding-iam-user-kali.json"
	inInstance   = "events/service/inspector2-finding-ec2-package-vulnerability.json"
	inImage      = "events/service/inspector2-finding-ecr-image.json"
	sampleInst   = "i-0608144705c8a6401"
	recordedTags = "web-team@example.com" // the owner tag the samples record
)

// instance runs an instance tagged with its owner as it is now (not as
// the sample finding recorded it).
func instance(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).RunInstances(context.Background(), &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeT3Large,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{
			{Key: aws.String("Name"), Value: aws.String("web-1")}, {Key: aws.String("owner"), Value: aws.String("payments-oncall@example.com")},
			{Key: aws.String("team"), Value: aws.String("payments")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Instances[0].InstanceId)
}

func newEngine(t *testing.T, s *awsclient.Session, cfg engine.Config) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, cfg, securityfindings.Rule)
	return e
}

// A GuardDuty finding on an instance is notified with the owner its tags
// name now and its current state, read with one call; even in enforce
// mode nothing is written.
func TestGuardDutyFindingIsNotifiedWithTheOwner(t *testing.T) {
	s := mototest.Session(t)
	id := instance(t, s)
	topic := mototest.NewTopic(t, s, "rampart-findings")
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce, TopicARN: topic.ARN})
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, gdInstance, sampleInst, id))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 0 || d.ResourceType != "AWS::EC2::Instance" ||
		!strings.HasPrefix(d.Resource, "arn:aws:guardduty:us-east-1:123456789012:detector/") {
		t.Fatalf("decision = %+v", d)
	}
	for _, want := range []string{"GuardDuty HIGH (8) finding CryptoCurrency:EC2/BitcoinTool.B!DNS on instance " + id,
		"DNS query for pool.minergate.com", "owner: owner=payments-oncall@example.com, team=payments (its tags)", "now: running t3.large",
		"Rampart takes no action on findings"} {
		if !strings.Contains(d.Reason, want) {
			t.Errorf("reason %q lacks %q", d.Reason, want)
		}
	}
	if strings.Contains(d.Reason, recordedTags) {
		t.Errorf("reason %q uses the finding's recorded owner, not the live one", d.Reason)
	}
	if !slices.Equal(calls, []string{"DescribeInstances", "Publish"}) {
		t.Fatalf("calls = %v: one read, one notification, no write", calls)
	}
	got := topic.Received(t)
	if len(got) != 1 || !strings.Contains(got[0].Message, "payments-oncall@example.com") || !strings.Contains(got[0].Message, "CryptoCurrency:EC2/BitcoinTool.B!DNS") {
		t.Fatalf("notifications = %+v", got)
	}
}

// minSeverity is honoured: bob's MEDIUM finding is ignored at the default
// HIGH, with no call; at MEDIUM it is notified with his tags, read live.
func TestMinSeverity(t *testing.T) {
	s := mototest.Session(t)
	ctx := context.Background()
	if _, err := awsclient.Client(s, iam.NewFromConfig).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("bob"),
		Tags: []iamtypes.Tag{{Key: aws.String("Owner"), Value: aws.String("billing@example.com")}}}); err != nil {
		t.Fatal(err)
	}
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, engine.Config{Mode: engine.Report}), enginetest.Sample(t, gdUser))
	if d := res.Decisions[0]; d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "below the deployment's minSeverity HIGH") || len(calls) != 0 {
		t.Fatalf("default threshold: %+v, calls %v", d, calls)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Report, Params: map[string]map[string]string{"security-findings": {securityfindings.ParamMinSeverity: "MEDIUM"}}})
	res, calls = enginetest.RecordedOne(t, e, enginetest.Sample(t, gdUser))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !strings.Contains(d.Reason, "on IAM user bob (access key AKIAIOSFODNN7EXAMPLE)") ||
		!strings.Contains(d.Reason, "owner: Owner=billing@example.com (its tags)") || !strings.Contains(d.Reason, "from 198.51.100.7") {
		t.Fatalf("MEDIUM threshold: %+v", d)
	}
	if !slices.Equal(calls, []string{"ListUserTags"}) {
		t.Fatalf("calls = %v", calls)
	}
}

// An archived finding resolves, with no call; a finding on an instance
// that no longer exists is still notified, and says so.
func TestArchivedAndGone(t *testing.T) {
	s := mototest.Session(t)
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, gdInstance, `"archived": false`, `"archived": true`))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant || !strings.Contains(d.Reason, "is archived") || len(calls) != 0 {
		t.Fatalf("archived: %+v, calls %v", d, calls)
	}
	d := enginetest.One(t, e, enginetest.Sample(t, gdInstance))
	if d.Verdict != rule.Violation || !strings.Contains(d.Reason, "the instance no longer exists") ||
		!strings.Contains(d.Reason, "owner: owner=web-team@example.com (the tags the finding records)") {
		t.Fatalf("gone: %+v", d)
	}
}

// Inspector: an instance's vulnerability is notified with its live owner; a
// container image's with the finding's own record (Rampart does not read
// ECR), with no call; a closed finding resolves.
func TestInspectorFindings(t *testing.T) {
	s := mototest.Session(t)
	id := instance(t, s)
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, inInstance, sampleInst, id))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !strings.Contains(d.Reason, "Inspector HIGH (score 7.5) finding PACKAGE_VULNERABILITY on instance "+id) ||
		!strings.Contains(d.Reason, "CVE-2024-38475 in httpd 2.4.58") || !strings.Contains(d.Reason, "owner=payments-oncall@example.com") ||
		!slices.Equal(calls, []string{"DescribeInstances"}) {
		t.Fatalf("instance: %+v, calls %v", d, calls)
	}
	res, calls = enginetest.RecordedOne(t, e, enginetest.Sample(t, inImage))
	d = res.Decisions[0]
	if d.Verdict != rule.Violation || d.ResourceType != "AWS::ECR::Repository" || !strings.Contains(d.Reason, "on image billing-api:v1.8.2") ||
		!strings.Contains(d.Reason, "a known exploit exists") || !strings.Contains(d.Reason, "Rampart does not read AWS::ECR::Repository resources") || len(calls) != 0 {
		t.Fatalf("image: %+v, calls %v", d, calls)
	}
	d = enginetest.One(t, e, enginetest.Sample(t, inInstance, sampleInst, id, `"status": "ACTIVE"`, `"status": "CLOSED"`))
	if d.Verdict != rule.Compliant || !strings.Contains(d.Reason, "is closed") {
		t.Fatalf("closed: %+v", d)
	}
}

// A GuardDuty administrator receives its members' findings: the resource is
// the member's, so Rampart reads nothing here and reports what the finding
// records. An event of an account the deployment does not cover is out of
// scope.
func TestFindingsOfOtherAccounts(t *testing.T) {
	s := mototest.Session(t)
	id := instance(t, s)
	e := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, gdInstance, sampleInst, id, `"accountId": "123456789012"`, `"accountId": "210987654321"`))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !strings.Contains(d.Reason, "a finding of account 210987654321") ||
		!strings.Contains(d.Reason, recordedTags) || len(calls) != 0 {
		t.Fatalf("member finding: %+v, calls %v", d, calls)
	}
	res, calls = enginetest.RecordedOne(t, e, enginetest.Sample(t, gdInstance, `"account": "123456789012"`, `"account": "210987654321"`))
	if d := res.Decisions[0]; d.Verdict != rule.Ignored || !strings.Contains(d.Reason, "out of scope") || len(calls) != 0 {
		t.Fatalf("other account: %+v, calls %v", d, calls)
	}
}

// A finding on a bucket reads the bucket's tags; on a user that no longer
// exists it says so.
func TestBucketAndUser(t *testing.T) {
	s := mototest.Session(t)
	ctx := context.Background()
	c := s3bucket.Client(s)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("billing-exports")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("billing-exports"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("billing")}}}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Config{Mode: engine.Report})
	bucket := `{"version":"0","id":"b1","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2026-03-15T08:14:52Z",
		"region":"us-east-1","resources":[],"detail":{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","id":"f2",
		"arn":"arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f2","type":"Exfiltration:S3/AnomalousBehavior","severity":8,
		"title":"Anomalous S3 reads.","resource":{"resourceType":"S3Bucket","accessKeyDetails":{"accessKeyId":"ASIAEXAMPLE","userName":"etl","userType":"AssumedRole"},
		"s3BucketDetails":[{"name":"billing-exports","tags":[]}]},"service":{"archived":false,"count":1}}}`
	res, calls := enginetest.RecordedOne(t, e, []byte(bucket))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !strings.Contains(d.Reason, "on bucket billing-exports") ||
		!strings.Contains(d.Reason, "owner: team=billing (its tags)") || !strings.Contains(d.Reason, "by AssumedRole etl (access key ASIAEXAMPLE)") ||
		len(calls) != 1 || !strings.Contains(calls[0], "/billing-exports") {
		t.Fatalf("bucket: %+v, calls %v", d, calls)
	}
	d := enginetest.One(t, e, enginetest.Sample(t, gdUser, `"severity": 5`, `"severity": 7.5`))
	if d.Verdict != rule.Violation || !strings.Contains(d.Reason, "GuardDuty HIGH (7.5)") || !strings.Contains(d.Reason, "the user no longer exists") {
		t.Fatalf("gone user: %+v", d)
	}
}
