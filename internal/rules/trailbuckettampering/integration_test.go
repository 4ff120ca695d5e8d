package trailbuckettampering_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/trailbuckettampering"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

// bucket is the trail bucket the sample events name.
const bucket = "aws-cloudtrail-logs-123456789012-3f9c1a2b"

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, topic string) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode, TopicARN: topic}, trailbuckettampering.Rule)
	return e
}

// seed makes the bucket and a trail delivering to it (keyPrefix may be "").
func seed(t *testing.T, s *awsclient.Session, name, keyPrefix string) {
	t.Helper()
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	in := &cloudtrail.CreateTrailInput{Name: aws.String("org-audit"), S3BucketName: aws.String(name), IsMultiRegionTrail: aws.Bool(true)}
	if keyPrefix != "" {
		in.S3KeyPrefix = aws.String(keyPrefix)
	}
	if _, err := awsclient.Client(s, cloudtrail.NewFromConfig).CreateTrail(ctx, in); err != nil {
		t.Fatal(err)
	}
}

func expire(id, prefix string, days int32) s3types.LifecycleRule {
	return s3types.LifecycleRule{ID: aws.String(id), Status: s3types.ExpirationStatusEnabled,
		Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(prefix)}, Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(days)}}
}

var archive = s3types.LifecycleRule{ID: aws.String("archive-after-90"), Status: s3types.ExpirationStatusEnabled,
	Filter:      &s3types.LifecycleRuleFilter{Prefix: aws.String("AWSLogs/")},
	Transitions: []s3types.Transition{{Days: aws.Int32(90), StorageClass: s3types.TransitionStorageClassGlacier}}}

func putLifecycle(t *testing.T, s *awsclient.Session, name string, rules ...s3types.LifecycleRule) {
	t.Helper()
	if _, err := s3bucket.Client(s).PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(name),
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules}}); err != nil {
		t.Fatal(err)
	}
}

// lifecycle lists the bucket's rule IDs ("none" without a configuration).
func lifecycle(t *testing.T, s *awsclient.Session, name string) []string {
	t.Helper()
	out, err := s3bucket.Client(s).GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(name)})
	if awsclient.HasCode(err, "NoSuchLifecycleConfiguration") {
		return []string{"none"}
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range out.Rules {
		ids = append(ids, aws.ToString(r.ID))
	}
	return ids
}

func TestShortExpiryRuleRemovedOthersKeptUndoRestores(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, bucket, "")
	tmp := expire("expire-tmp", "tmp/", 1) // not under the log prefix: legitimate
	putLifecycle(t, s, bucket, archive, expire("expire-cloudtrail", "AWSLogs/123456789012/CloudTrail/", 3), tmp)
	e := newEngine(t, s, engine.Enforce, "")
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-lifecycle-list.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != bucket || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied s3:PutLifecycleConfiguration"}) {
		t.Fatalf("decision = %+v", d)
	}
	if !strings.Contains(d.Reason, "lifecycle rule expire-cloudtrail expires trail logs after 3 days (retention 365 days)") {
		t.Fatalf("reason = %q", d.Reason)
	}
	// DescribeTrails, GetBucketLifecycleConfiguration, GetBucketTagging;
	// Apply: GetBucketLifecycleConfiguration again, PutBucketLifecycleConfiguration.
	if len(calls) != 5 || calls[0] != "CloudTrail_20131101.DescribeTrails" {
		t.Fatalf("calls = %v", calls)
	}
	if got := lifecycle(t, s, bucket); !slices.Equal(got, []string{"archive-after-90", "expire-tmp"}) {
		t.Fatalf("lifecycle = %v", got)
	}
	// The same event again: nothing left to remove.
	again, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-lifecycle-list.json"))
	if d := again.Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 || len(calls) != 2 {
		t.Fatalf("duplicate = %+v, calls %v", d, calls)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied s3:PutLifecycleConfiguration"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := lifecycle(t, s, bucket); !slices.Equal(got, []string{"archive-after-90", "expire-cloudtrail", "expire-tmp"}) {
		t.Fatalf("after undo: %v", got)
	}
}

func TestStratusRuleAloneIsDeletedAndUndone(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, bucket, "")
	putLifecycle(t, s, bucket, expire("nuke-cloudtrail-logs-after-1-day", "*", 1))
	e := newEngine(t, s, engine.Enforce, "")
	res, _ := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-lifecycle-stratus.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !strings.Contains(d.Reason, "wildcard-looking prefix") || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if got := lifecycle(t, s, bucket); !slices.Equal(got, []string{"none"}) {
		t.Fatalf("the only rule removed, so no configuration is left: %v", got)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied s3:PutLifecycleConfiguration"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := lifecycle(t, s, bucket); !slices.Equal(got, []string{"nuke-cloudtrail-logs-after-1-day"}) {
		t.Fatalf("after undo: %v", got)
	}
}

func TestKeyPrefixDecidesWhatAreLogs(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, bucket, "audit")
	// Expiring AWSLogs/ does not touch logs written under audit/AWSLogs/.
	putLifecycle(t, s, bucket, expire("expire-cloudtrail", "AWSLogs/", 3))
	res, _ := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, ""), enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-lifecycle-list.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant {
		t.Fatalf("decision = %+v", d)
	}
	putLifecycle(t, s, bucket, expire("expire-audit", "audit/", 30))
	res, _ = enginetest.Recorded(t, newEngine(t, s, engine.Report, ""), enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-lifecycle-list.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned s3:PutLifecycleConfiguration"}) {
		t.Fatalf("report = %+v", d)
	}
	if got := lifecycle(t, s, bucket); !slices.Equal(got, []string{"expire-audit"}) {
		t.Fatalf("report mode changed the lifecycle: %v", got)
	}
}

func TestNotATrailBucket(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, "other-trail-bucket", "")
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	putLifecycle(t, s, bucket, expire("expire-logs-weekly", "", 7))
	res, calls := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, ""), enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-lifecycle-short-expiry.json"))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || len(calls) != 1 {
		t.Fatalf("decision = %+v, calls %v", d, calls)
	}
	if got := lifecycle(t, s, bucket); !slices.Equal(got, []string{"expire-logs-weekly"}) {
		t.Fatalf("lifecycle = %v", got)
	}
}

func samplePolicy(t *testing.T) (string, []byte) {
	t.Helper()
	var ev struct {
		Detail struct {
			RequestParameters struct {
				BucketPolicy json.RawMessage `json:"bucketPolicy"`
			} `json:"requestParameters"`
		} `json:"detail"`
	}
	raw := enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-policy-deny-cloudtrail.json")
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return string(ev.Detail.RequestParameters.BucketPolicy), raw
}

func putPolicy(t *testing.T, s *awsclient.Session, policy string) {
	t.Helper()
	if _, err := s3bucket.Client(s).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
}

// bucketPolicy is the bucket's policy, "" when it has none.
func bucketPolicy(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	out, err := s3bucket.Client(s).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if awsclient.HasCode(err, "NoSuchBucketPolicy") {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Policy)
}

// The sample policy keeps the ACL check, drops the write Allow and adds a
// Deny aimed at CloudTrail: the fix removes that Deny and adds the
// documented write Allow, in one PutBucketPolicy; the undo puts the exact
// previous policy back.
func TestPolicyBlindingCloudTrailIsRepaired(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, bucket, "")
	policy, raw := samplePolicy(t)
	putPolicy(t, s, policy)
	before := bucketPolicy(t, s)
	e := newEngine(t, s, engine.Enforce, "")
	res, calls := enginetest.Recorded(t, e, raw)
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied s3:PutBucketPolicy"}) ||
		!strings.Contains(d.Reason, "statement DenyCloudTrailWrite denies cloudtrail.amazonaws.com s3:PutObject") ||
		!strings.Contains(d.Reason, "no bucket policy statement allows CloudTrail to deliver the logs of trail org-audit") {
		t.Fatalf("decision = %+v", d)
	}
	// DescribeTrails, GetBucketPolicy, GetBucketTagging; Apply:
	// GetBucketPolicy again (the change is made to the policy as it is
	// then), PutBucketPolicy.
	// (moto's recorder names S3 calls by method and path only.)
	if len(calls) != 5 || calls[0] != "CloudTrail_20131101.DescribeTrails" || !strings.HasPrefix(calls[4], "PUT /") {
		t.Fatalf("calls = %v", calls)
	}
	after := bucketPolicy(t, s)
	if strings.Contains(after, "DenyCloudTrailWrite") || !strings.Contains(after, "AWSCloudTrailAclCheck") || !strings.Contains(after, "RampartCloudTrailWriteorgaudit") ||
		!strings.Contains(after, "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-audit") {
		t.Fatalf("policy = %s", after)
	}
	again, calls := enginetest.Recorded(t, e, raw)
	if d := again.Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 || len(calls) != 2 {
		t.Fatalf("duplicate = %+v, calls %v", d, calls)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied s3:PutBucketPolicy"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := bucketPolicy(t, s); got != before {
		t.Fatalf("undo policy = %s, want %s", got, before)
	}
}

// DeleteBucketPolicy leaves CloudTrail no Allow: the documented statements
// are put back, and the undo deletes the policy again.
func TestDeletedPolicyIsRestoredAndUndone(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, bucket, "audit")
	e := newEngine(t, s, engine.Enforce, "")
	raw := enginetest.Sample(t, "events/cloudtrail/s3-delete-bucket-policy.json")
	res, _ := enginetest.Recorded(t, e, raw)
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied s3:PutBucketPolicy"}) {
		t.Fatalf("decision = %+v", d)
	}
	got := bucketPolicy(t, s)
	if !strings.Contains(got, `arn:aws:s3:::`+bucket+`/audit/AWSLogs/123456789012/*`) || !strings.Contains(got, "bucket-owner-full-control") {
		t.Fatalf("policy = %s", got)
	}
	if d := enginetest.Handle(t, e, raw).Decisions[0]; d.Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied s3:DeleteBucketPolicy"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := bucketPolicy(t, s); got != "" {
		t.Fatalf("policy after undo = %s", got)
	}
}

// A Deny that also applies to other principals is alerted on: removing it
// would widen their access. Report mode changes nothing either.
func TestBroadDenyAlertsAndReportModeChangesNothing(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, bucket, "")
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::` + bucket + `"},` +
		`{"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/AWSLogs/123456789012/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}},` +
		`{"Sid":"OrgOnly","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}`
	putPolicy(t, s, policy)
	before := bucketPolicy(t, s)
	_, raw := samplePolicy(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	res, _ := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, topic.ARN), raw)
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied sns:Publish"}) || !strings.Contains(d.Reason, "OrgOnly") {
		t.Fatalf("decision = %+v", d)
	}
	if got := topic.Received(t); len(got) != 1 || !strings.Contains(got[0].Message, "OrgOnly") {
		t.Fatalf("notifications = %+v", got)
	}
	if got := bucketPolicy(t, s); got != before {
		t.Fatalf("an alert-only decision changed the policy: %s", got)
	}
	putPolicy(t, s, strings.Replace(policy, `"Action":"s3:PutObject","Resource":"arn:aws:s3:::`+bucket+`/AWSLogs`, `"Action":"s3:GetObject","Resource":"arn:aws:s3:::`+bucket+`/AWSLogs`, 1))
	before = bucketPolicy(t, s)
	res, _ = enginetest.Recorded(t, newEngine(t, s, engine.Report, ""), raw)
	if d := res.Decisions[0]; d.Verdict != rule.Violation || len(d.Actions) != 2 || enginetest.Outcomes(d.Actions)[0] != "planned s3:PutBucketPolicy" {
		t.Fatalf("report = %+v", d)
	}
	if got := bucketPolicy(t, s); got != before {
		t.Fatalf("report mode changed the policy: %s", got)
	}
}

func TestPeriodicSweepJudgesTrailBucketsOnly(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, bucket, "")
	putLifecycle(t, s, bucket, archive, expire("expire-all", "", 30))
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("scratch-123456789012")}); err != nil {
		t.Fatal(err)
	}
	putLifecycle(t, s, "scratch-123456789012", expire("expire-all", "", 1))
	var inv map[string]any
	if err := json.Unmarshal(enginetest.Sample(t, "events/config/scheduled-notification.json"), &inv); err != nil {
		t.Fatal(err)
	}
	// moto accepts PutEvaluations in test mode only.
	inv["configRuleName"], inv["ruleParameters"], inv["resultToken"] = "rampart-trail-bucket-tampering", `{"retentionDays":"90"}`, "TESTMODE"
	raw, _ := json.Marshal(inv)
	res, _ := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, ""), raw)
	if len(res.Decisions) != 1 {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	if d := res.Decisions[0]; d.Resource != bucket || d.Verdict != rule.Violation || !strings.Contains(d.Reason, "retention 90 days") {
		t.Fatalf("decision = %+v", d)
	}
	if got := lifecycle(t, s, bucket); !slices.Equal(got, []string{"archive-after-90"}) {
		t.Fatalf("trail bucket lifecycle = %v", got)
	}
	if got := lifecycle(t, s, "scratch-123456789012"); !slices.Equal(got, []string{"expire-all"}) {
		t.Fatalf("a bucket without trail logs was changed: %v", got)
	}
}

func TestOfflinePlanMakesNoCall(t *testing.T) {
	mototest.Session(t)
	e := newEngine(t, awsclient.NewOffline("us-east-1"), engine.Enforce, "")
	for file, want := range map[string]string{
		"s3-put-bucket-lifecycle-short-expiry.json": "planned s3:PutLifecycleConfiguration",
		"s3-put-bucket-lifecycle-stratus.json":      "planned s3:PutLifecycleConfiguration",
		"s3-put-bucket-policy-deny-cloudtrail.json": "planned s3:PutBucketPolicy",
		"s3-delete-bucket-policy.json":              "planned s3:PutBucketPolicy",
	} {
		res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/"+file))
		if len(calls) != 0 {
			t.Fatalf("%s: offline calls = %v", file, calls)
		}
		if got := enginetest.Outcomes(res.Decisions[0].Actions); !slices.Equal(got, []string{want}) {
			t.Fatalf("%s: %v", file, got)
		}
	}
}

func TestApplyWhenTheRuleIsAlreadyGone(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s, bucket, "")
	fix := rule.NewAction("s3:PutLifecycleConfiguration", bucket, "", map[string]any{"bucket": bucket,
		"remove": []s3types.LifecycleRule{expire("nuke", "", 1)}}, nil)
	b, err := rule.BindWith(trailbuckettampering.Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, rule.Env{Session: s}, fix); !errors.Is(err, rule.ErrNoOp) {
		t.Fatalf("no lifecycle at all = %v, want ErrNoOp", err)
	}
	putLifecycle(t, s, bucket, archive)
	if err := b.Apply(ctx, rule.Env{Session: s}, fix); !errors.Is(err, rule.ErrNoOp) {
		t.Fatalf("rule not there = %v, want ErrNoOp", err)
	}
	if got := lifecycle(t, s, bucket); !slices.Equal(got, []string{"archive-after-90"}) {
		t.Fatalf("lifecycle = %v", got)
	}
}
