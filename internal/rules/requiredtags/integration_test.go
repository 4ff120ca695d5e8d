package requiredtags_test

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/requiredtags"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

// configEvent is a real-shaped Config invocation from events/config aimed at
// this rule, with the test-mode token and the item's type, ID and tags
// replaced (see enginetest.ConfigInvocation).
func configEvent(t *testing.T, file, typ, id string, tags map[string]string) []byte {
	t.Helper()
	return enginetest.ConfigInvocation(t, file, "rampart-required-tags", "{}", func(_, item map[string]any) {
		if item != nil {
			item["resourceType"], item["resourceId"], item["tags"] = typ, id, tags
		}
	})
}

var policy = map[string]string{
	requiredtags.ParamKeys:     "owner,cost-center",
	requiredtags.ParamAllowed:  "env=prod|dev",
	requiredtags.ParamDefaults: "cost-center=unassigned",
}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode) (*engine.Engine, *enginetest.Evaluations) {
	t.Helper()
	return enginetest.New(t, s, engine.Config{Mode: mode, Params: map[string]map[string]string{"required-tags": policy}}, requiredtags.Rule)
}

func instanceTags(t *testing.T, s *awsclient.Session, id string) map[string]string {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, tg := range out.Reservations[0].Instances[0].Tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

func bucketTags(t *testing.T, s *awsclient.Session, bucket string) map[string]string {
	t.Helper()
	out, err := s3bucket.Client(s).GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	m := map[string]string{}
	if awsclient.HasCode(err, "NoSuchTagSet") {
		return m
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range out.TagSet {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

func runInstance(t *testing.T, s *awsclient.Session, tags map[string]string) string {
	t.Helper()
	var ts []ec2types.Tag
	for k, v := range tags {
		ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	in := &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
	if len(ts) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: ts}}
	}
	out, err := awsclient.Client(s, ec2.NewFromConfig).RunInstances(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Instances[0].InstanceId)
}

func makeBucket(t *testing.T, s *awsclient.Session, name string, tags map[string]string) {
	t.Helper()
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if len(tags) == 0 {
		return
	}
	var set []s3types.Tag
	for k, v := range tags {
		set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := s3bucket.Client(s).PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: set}}); err != nil {
		t.Fatal(err)
	}
}

func TestInstanceGetsOnlyTheMissingDefault(t *testing.T) {
	s := mototest.Session(t)
	id := runInstance(t, s, map[string]string{"owner": "payments", "Name": "api"})
	e, rec := newEngine(t, s, engine.Enforce)
	srv := mototest.Record(t)
	// The event's tags are stale (it claims none); the live tags decide.
	ds := enginetest.Handle(t, e, configEvent(t, "instance-change-notification.json", "AWS::EC2::Instance", id, nil)).Decisions
	got, _ := srv.Calls()
	d := ds[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != "ec2:CreateTags" || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"DescribeInstances", "DescribeTags", "CreateTags", "StarlingDoveService.PutEvaluations"}; !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	want := map[string]string{"owner": "payments", "Name": "api", "cost-center": "unassigned"}
	if got := instanceTags(t, s, id); !maps.Equal(got, want) {
		t.Fatalf("tags = %v, want %v", got, want)
	}
	if !strings.Contains(aws.ToString(rec.Evals[0].Annotation), "missing tags: cost-center") {
		t.Fatalf("annotation = %q", aws.ToString(rec.Evals[0].Annotation))
	}
	// Duplicate: compliant now.
	if ds = enginetest.Handle(t, e, configEvent(t, "instance-change-notification.json", "AWS::EC2::Instance", id, nil)).Decisions; ds[0].Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", ds[0])
	}
	// A key set between evaluation and apply is not overwritten.
	other := runInstance(t, s, map[string]string{"owner": "x"})
	b := bound(t, policy)
	env := rule.Env{Session: s}
	f, err := b.Evaluate(ctx, env, rule.Target{Type: "AWS::EC2::Instance", ID: other})
	if err != nil || len(f.Actions) != 1 {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	if _, err := awsclient.Client(s, ec2.NewFromConfig).CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{other},
		Tags: []ec2types.Tag{{Key: aws.String("cost-center"), Value: aws.String("cc-42")}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, env, f.Actions[0]); err == nil {
		t.Fatal("apply over a concurrently set key was not a no-op")
	}
	if got := instanceTags(t, s, other)["cost-center"]; got != "cc-42" {
		t.Fatalf("cost-center overwritten: %q", got)
	}
	// Undo removes exactly what was added.
	if _, err := e.Undo(ctx, []report.Decision{d}); err != nil {
		t.Fatal(err)
	}
	if got := instanceTags(t, s, id); !maps.Equal(got, map[string]string{"owner": "payments", "Name": "api"}) {
		t.Fatalf("after undo tags = %v", got)
	}
}

// bound is the rule bound with the overrides.
func bound(t *testing.T, overrides map[string]string) *rule.Bound {
	t.Helper()
	b, err := rule.BindWith(requiredtags.Rule, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBucketTagsAreMergedAndUndoRestoresTheSet(t *testing.T) {
	s := mototest.Session(t)
	before := map[string]string{"owner": "data", "env": "prod", "project": "lake"}
	makeBucket(t, s, "lake-raw", before)
	e, _ := newEngine(t, s, engine.Enforce)
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, configEvent(t, "s3-bucket-change-notification.json", "AWS::S3::Bucket", "lake-raw", nil)).Decisions
	calls, _ := srv.Calls()
	// GetBucketTagging to evaluate, again right before the merge, PutBucketTagging, PutEvaluations.
	if len(calls) != 4 || calls[3] != "StarlingDoveService.PutEvaluations" {
		t.Fatalf("API calls = %v", calls)
	}
	d := ds[0]
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != "s3:PutBucketTagging" || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("decision = %+v", d)
	}
	want := maps.Clone(before)
	want["cost-center"] = "unassigned"
	if got := bucketTags(t, s, "lake-raw"); !maps.Equal(got, want) {
		t.Fatalf("tags = %v, want %v", got, want)
	}
	if _, err := e.Undo(ctx, []report.Decision{d}); err != nil {
		t.Fatal(err)
	}
	if got := bucketTags(t, s, "lake-raw"); !maps.Equal(got, before) {
		t.Fatalf("after undo tags = %v, want %v", got, before)
	}
	// An untagged bucket: undo leaves it with no tag set at all.
	makeBucket(t, s, "scratch", nil)
	over := maps.Clone(policy)
	over[requiredtags.ParamKeys] = "cost-center"
	b, env := bound(t, over), rule.Env{Session: s}
	f, err := b.Evaluate(ctx, env, rule.Target{Type: "AWS::S3::Bucket", ID: "scratch"})
	if err != nil || len(f.Actions) != 1 {
		t.Fatalf("finding = %+v, %v", f, err)
	}
	if err := b.Apply(ctx, env, f.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if got := bucketTags(t, s, "scratch"); !maps.Equal(got, map[string]string{"cost-center": "unassigned"}) {
		t.Fatalf("scratch tags = %v", got)
	}
	if err := b.Apply(ctx, env, *f.Actions[0].Undo); err != nil {
		t.Fatal(err)
	}
	if got := bucketTags(t, s, "scratch"); len(got) != 0 {
		t.Fatalf("scratch tags after undo = %v", got)
	}
}

func TestReportModeOfflineAndScope(t *testing.T) {
	s := mototest.Session(t)
	id := runInstance(t, s, nil)
	e, _ := newEngine(t, s, engine.Report)
	ds := enginetest.Handle(t, e, configEvent(t, "instance-change-notification.json", "AWS::EC2::Instance", id, nil)).Decisions
	if ds[0].Verdict != rule.Violation || ds[0].Actions[0].Outcome != rule.Planned || len(instanceTags(t, s, id)) != 0 {
		t.Fatalf("report = %+v", ds[0])
	}
	// A type the deployment leaves out is not applicable.
	narrow := map[string]map[string]string{"required-tags": {requiredtags.ParamKeys: "owner", requiredtags.ParamTypes: "AWS::S3::Bucket"}}
	en, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, Params: narrow}, requiredtags.Rule)
	if ds := enginetest.Handle(t, en, configEvent(t, "instance-change-notification.json", "AWS::EC2::Instance", id, nil)).Decisions; ds[0].Verdict != rule.NotApplicable {
		t.Fatalf("out of scope = %+v", ds[0])
	}
	// Offline: decided from the item's own tags, no call.
	off, _ := newEngine(t, awsclient.NewOffline("us-east-1"), engine.Enforce)
	srv := mototest.Record(t)
	ds = enginetest.Handle(t, off, configEvent(t, "instance-change-notification.json", "AWS::EC2::Instance", "i-0608144705c8a6401", map[string]string{"owner": "a"})).Decisions
	if got, _ := srv.Calls(); len(got) != 0 {
		t.Fatalf("offline calls = %v", got)
	}
	if ds[0].Verdict != rule.Violation || ds[0].Actions[0].Outcome != rule.Planned || !strings.Contains(ds[0].Reason, "cost-center") {
		t.Fatalf("offline = %+v", ds[0])
	}
	// A gone resource.
	if ds := enginetest.Handle(t, e, configEvent(t, "instance-change-notification.json", "AWS::EC2::Volume", "vol-0000000000000dead", nil)).Decisions; ds[0].Verdict != rule.NotApplicable {
		t.Fatalf("gone = %+v", ds[0])
	}
}

func TestScheduledSweepCoversEveryType(t *testing.T) {
	s := mototest.Session(t)
	tagged := runInstance(t, s, map[string]string{"owner": "a", "cost-center": "b"})
	bare := runInstance(t, s, nil)
	makeBucket(t, s, "tagged-bucket", map[string]string{"owner": "a", "cost-center": "b"})
	makeBucket(t, s, "bare-bucket", nil)
	e, rec := newEngine(t, s, engine.Report)
	ds := enginetest.Handle(t, e, configEvent(t, "scheduled-notification.json", "", "", nil)).Decisions
	verdicts := map[string]rule.Verdict{}
	types := map[string]int{}
	for _, d := range ds {
		verdicts[d.Resource] = d.Verdict
		types[d.ResourceType]++
	}
	if verdicts[tagged] != rule.Compliant || verdicts[bare] != rule.Violation || verdicts["tagged-bucket"] != rule.Compliant || verdicts["bare-bucket"] != rule.Violation {
		t.Fatalf("verdicts = %v", verdicts)
	}
	for _, typ := range requiredtags.Supported {
		if types[typ] == 0 {
			t.Errorf("no decision for %s (%v)", typ, types)
		}
	}
	if len(rec.Evals) != len(ds) {
		t.Fatalf("%d evaluations for %d decisions", len(rec.Evals), len(ds))
	}
}
