package s3publicaccess_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/s3publicaccess"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const (
	bucket  = "payments-exports-123456789012" // the bucket the sample events name
	account = "123456789012"
)

const publicPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"},` +
	`{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::` + bucket + `"}]}`

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, rules ...rule.Rule) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode}, rules...)
	return e
}

// seedBucket makes the bucket with a public policy (and a partner grant), a
// public-read ACL and the given block configuration (nil: none).
func seedBucket(t *testing.T, s *awsclient.Session, block *s3types.PublicAccessBlockConfiguration, tags ...s3types.Tag) {
	t.Helper()
	c := s3bucket.Client(s)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(publicPolicy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(bucket), ACL: s3types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if block != nil {
		if _, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket), PublicAccessBlockConfiguration: block}); err != nil {
			t.Fatal(err)
		}
	}
	if len(tags) > 0 {
		if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{TagSet: tags}}); err != nil {
			t.Fatal(err)
		}
	}
}

// blockOf reads the bucket's block as "none" or "a,b,c,d" booleans.
func blockOf(t *testing.T, s *awsclient.Session, name string) string {
	t.Helper()
	out, err := s3bucket.Client(s).GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(name)})
	if awsclient.HasCode(err, "NoSuchPublicAccessBlockConfiguration") {
		return "none"
	}
	if err != nil {
		t.Fatal(err)
	}
	c := out.PublicAccessBlockConfiguration
	return strings.Join([]string{b(c.BlockPublicAcls), b(c.IgnorePublicAcls), b(c.BlockPublicPolicy), b(c.RestrictPublicBuckets)}, ",")
}

func b(v *bool) string {
	if aws.ToBool(v) {
		return "on"
	}
	return "off"
}

const allOn = "on,on,on,on"

// policyAndACL is the bucket's policy and grants, which the rule must never change.
func policyAndACL(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	pol, err := s3bucket.Client(s).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	acl, err := s3bucket.Client(s).GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	grants, _ := json.Marshal(acl.Grants)
	return aws.ToString(pol.Policy) + string(grants)
}

func TestPublicPolicyEventTurnsTheBlockOnAndReportsWhatWasPublic(t *testing.T) {
	s := mototest.Session(t)
	seedBucket(t, s, nil)
	before := policyAndACL(t, s)
	e := newEngine(t, s, engine.Enforce, s3publicaccess.BucketAccess)
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-policy-public.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != bucket || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied s3:PutBucketPublicAccessBlock"}) {
		t.Fatalf("decision = %+v", d)
	}
	for _, want := range []string{"no Block Public Access configuration", "statement PublicRead allows s3:GetObject to everyone", "ACL grants READ to AllUsers"} {
		if !strings.Contains(d.Reason, want) {
			t.Errorf("reason %q lacks %q", d.Reason, want)
		}
	}
	if strings.Contains(d.Reason, "Partner") {
		t.Errorf("the partner statement is not public: %q", d.Reason)
	}
	// GetPublicAccessBlock, GetBucketPolicy, GetBucketAcl, GetBucketTagging, PutPublicAccessBlock.
	if len(calls) != 5 {
		t.Fatalf("calls = %v", calls)
	}
	if got := blockOf(t, s, bucket); got != allOn {
		t.Fatalf("block = %s", got)
	}
	if got := policyAndACL(t, s); got != before {
		t.Fatalf("policy or ACL changed:\n%s\n%s", before, got)
	}
	applied := enginetest.RoundTrip(t, res)
	// The same event again: the block neutralises the policy, one call.
	res, calls = enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-policy-public.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 || !strings.Contains(d.Reason, "neutralise") || len(calls) != 1 {
		t.Fatalf("duplicate = %+v, calls %v", d, calls)
	}
	// Undo: the bucket had no block configuration, so it is deleted.
	if got := enginetest.Undo(t, e, applied); !slices.Equal(got, []string{"applied s3:PutBucketPublicAccessBlock"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := blockOf(t, s, bucket); got != "none" {
		t.Fatalf("after undo: %s", got)
	}
}

func TestWeakenedBlockIsRestoredAndUndoPutsThePreviousBack(t *testing.T) {
	s := mototest.Session(t)
	seedBucket(t, s, &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(false), IgnorePublicAcls: aws.Bool(true),
		BlockPublicPolicy: aws.Bool(false), RestrictPublicBuckets: aws.Bool(true)})
	e := newEngine(t, s, engine.Enforce, s3publicaccess.BucketAccess)
	res, _ := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-public-access-block.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !strings.Contains(d.Reason, "settings off: BlockPublicAcls, BlockPublicPolicy") {
		t.Fatalf("decision = %+v", d)
	}
	if got := blockOf(t, s, bucket); got != allOn {
		t.Fatalf("block = %s", got)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied s3:PutBucketPublicAccessBlock"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := blockOf(t, s, bucket); got != "off,on,off,on" {
		t.Fatalf("after undo: %s", got)
	}
}

func TestDeletedBlockAndLegacyACLEvents(t *testing.T) {
	s := mototest.Session(t)
	seedBucket(t, s, nil)
	e := newEngine(t, s, engine.Enforce, s3publicaccess.BucketAccess)
	for _, file := range []string{"cloudtrail/s3-delete-bucket-public-access-block.json", "cloudtrail/s3-put-bucket-acl-public-legacy.json",
		"cloudtrail/s3-put-bucket-acl-canned-public-read.json"} {
		if _, err := s3bucket.Client(s).DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		res, _ := enginetest.Recorded(t, e, enginetest.Sample(t, "events/"+file))
		if d := res.Decisions[0]; d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied s3:PutBucketPublicAccessBlock"}) {
			t.Fatalf("%s: %+v", file, d)
		}
		if got := blockOf(t, s, bucket); got != allOn {
			t.Fatalf("%s: block = %s", file, got)
		}
	}
}

func TestExemptBucketAndReportMode(t *testing.T) {
	s := mototest.Session(t)
	seedBucket(t, s, nil, s3types.Tag{Key: aws.String("rampart:exempt"), Value: aws.String("public website; owner=web-team; expires=" + time.Now().AddDate(0, 0, 30).Format(time.DateOnly))})
	res, _ := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, s3publicaccess.BucketAccess), enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-policy-public.json"))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || len(d.Actions) != 0 || !strings.Contains(d.Reason, "public website") {
		t.Fatalf("exempt = %+v", d)
	}
	if got := blockOf(t, s, bucket); got != "none" {
		t.Fatalf("exempt bucket changed: %s", got)
	}
	if _, err := s3bucket.Client(s).DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	res, calls := enginetest.Recorded(t, newEngine(t, s, engine.Report, s3publicaccess.BucketAccess), enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-policy-public.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned s3:PutBucketPublicAccessBlock"}) {
		t.Fatalf("report = %+v", d)
	}
	for _, c := range calls {
		if strings.HasPrefix(c, "PUT ") {
			t.Fatalf("report mode wrote: %v", calls)
		}
	}
	if got := blockOf(t, s, bucket); got != "none" {
		t.Fatalf("report mode changed the block: %s", got)
	}
}

func TestConfigChangeAndPeriodicSweep(t *testing.T) {
	s := mototest.Session(t)
	seedBucket(t, s, nil)
	ok := "archive-123456789012"
	away := "eu-archive-123456789012"
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(ok)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3bucket.Client(s).PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(ok),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(away),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest1}}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, s3publicaccess.BucketAccess)
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/config/s3-bucket-public-change-notification.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || d.Resource != bucket || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied s3:PutBucketPublicAccessBlock"}) {
		t.Fatalf("config = %+v", d)
	}
	if calls[len(calls)-1] != "StarlingDoveService.PutEvaluations" {
		t.Fatalf("calls = %v", calls)
	}
	// The periodic evaluation sweeps this region's buckets only.
	if _, err := s3bucket.Client(s).DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	res, calls = enginetest.Recorded(t, e, enginetest.ConfigInvocation(t, "scheduled-notification.json", "rampart-s3-bucket-public-access", "{}", nil))
	got := map[string]rule.Verdict{}
	for _, d := range res.Decisions {
		got[d.Resource] = d.Verdict
	}
	if len(got) != 2 || got[bucket] != rule.Violation || got[ok] != rule.Compliant {
		t.Fatalf("sweep = %v", got)
	}
	// ListBuckets, then one GetPublicAccessBlock per bucket, the violating
	// bucket's policy, ACL and tags, the fix, and PutEvaluations.
	if len(calls) != 8 {
		t.Fatalf("sweep calls = %v", calls)
	}
	if blockOf(t, s, bucket) != allOn {
		t.Fatal("sweep did not fix the bucket")
	}
}

func TestGoneBucketAndApplyErrors(t *testing.T) {
	s := mototest.Session(t)
	res, _ := enginetest.Recorded(t, newEngine(t, s, engine.Enforce, s3publicaccess.BucketAccess), enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-policy-public.json"))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || !strings.Contains(d.Reason, "no longer exists") {
		t.Fatalf("gone = %+v", d)
	}
	put := rule.NewAction("s3:PutBucketPublicAccessBlock", bucket, "", map[string]any{"bucket": bucket, "block": map[string]bool{"blockPublicAcls": true}}, nil)
	b, err := rule.BindWith(s3publicaccess.BucketAccess, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, rule.Env{Session: s}, put); !errors.Is(err, rule.ErrNoOp) {
		t.Fatalf("put on a missing bucket = %v, want ErrNoOp", err)
	}
}

// account-level block (S3 Control)

func accountBlock(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	// Read through the rule's own evaluation path to share its client
	// setup: a Config-style target with no evidence.
	b, err := rule.BindWith(s3publicaccess.AccountBlock, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.Evaluate(ctx, rule.Env{Session: s}, rule.Target{ID: account})
	if err != nil {
		t.Fatal(err)
	}
	if f.Verdict == rule.Compliant {
		return allOn
	}
	return f.Reason
}

func putAccountBlock(t *testing.T, s *awsclient.Session, b s3publicaccess.Block) {
	t.Helper()
	a := rule.NewAction("s3:PutAccountPublicAccessBlock", account, "", map[string]any{"account": account, "block": b}, nil)
	r, err := rule.BindWith(s3publicaccess.AccountBlock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(ctx, rule.Env{Session: s}, a); err != nil {
		t.Fatal(err)
	}
}

func TestAccountBlockRestoredAndUndone(t *testing.T) {
	s := mototest.Session(t)
	putAccountBlock(t, s, s3publicaccess.Block{BlockPublicAcls: true, IgnorePublicAcls: true})
	e := newEngine(t, s, engine.Enforce, s3publicaccess.AccountBlock)
	res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-account-public-access-block.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != account || !strings.Contains(d.Reason, "settings off: BlockPublicPolicy, RestrictPublicBuckets") ||
		!slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied s3:PutAccountPublicAccessBlock"}) {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"GET /v20180820/configuration/publicAccessBlock", "PUT /v20180820/configuration/publicAccessBlock"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v, want %v", calls, want)
	}
	if got := accountBlock(t, s); got != allOn {
		t.Fatalf("block = %s", got)
	}
	applied := enginetest.RoundTrip(t, res)
	res, _ = enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-account-public-access-block.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := enginetest.Undo(t, e, applied); !slices.Equal(got, []string{"applied s3:PutAccountPublicAccessBlock"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := accountBlock(t, s); !strings.Contains(got, "settings off: BlockPublicPolicy, RestrictPublicBuckets") {
		t.Fatalf("after undo: %s", got)
	}
}

func TestAccountBlockDeletedThenSwept(t *testing.T) {
	s := mototest.Session(t)
	e := newEngine(t, s, engine.Enforce, s3publicaccess.AccountBlock)
	res, _ := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-delete-account-public-access-block.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !strings.Contains(d.Reason, "no Block Public Access configuration") ||
		!slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied s3:PutAccountPublicAccessBlock"}) {
		t.Fatalf("decision = %+v", d)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied s3:PutAccountPublicAccessBlock"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := accountBlock(t, s); !strings.Contains(got, "no Block Public Access configuration") {
		t.Fatalf("after undo: %s", got)
	}
	// The Config rule's periodic evaluation finds the account from the
	// session (resolved once, not per sweep); report mode plans and changes nothing.
	res, calls := enginetest.Recorded(t, newEngine(t, s, engine.Report, s3publicaccess.AccountBlock),
		enginetest.ConfigInvocation(t, "scheduled-notification.json", "rampart-s3-account-public-access-block", "{}", nil))
	if d := res.Decisions[0]; d.Resource != account || d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned s3:PutAccountPublicAccessBlock"}) {
		t.Fatalf("sweep = %+v", d)
	}
	if want := []string{"GET /v20180820/configuration/publicAccessBlock", "StarlingDoveService.PutEvaluations"}; !slices.Equal(calls, want) {
		t.Fatalf("sweep calls = %v, want %v", calls, want)
	}
	if got := accountBlock(t, s); !strings.Contains(got, "no Block Public Access configuration") {
		t.Fatalf("report mode changed the block: %s", got)
	}
	// And the Config change notification names the account as resource.
	res, _ = enginetest.Recorded(t, e, enginetest.Sample(t, "events/config/s3-account-public-access-block-change-notification.json"))
	if d := res.Decisions[0]; d.Resource != account || d.Verdict != rule.Violation || d.Actions[0].Outcome != rule.Applied {
		t.Fatalf("config change = %+v", d)
	}
	if got := accountBlock(t, s); got != allOn {
		t.Fatalf("block = %s", got)
	}
}

func TestOfflinePlanMakesNoCall(t *testing.T) {
	mototest.Session(t)
	e := newEngine(t, awsclient.NewOffline("us-east-1"), engine.Enforce, s3publicaccess.BucketAccess, s3publicaccess.AccountBlock)
	for _, file := range []string{"s3-put-bucket-policy-public.json", "s3-put-bucket-acl-public-legacy.json", "s3-put-bucket-acl-canned-public-read.json",
		"s3-put-bucket-public-access-block.json", "s3-delete-bucket-public-access-block.json",
		"s3-put-account-public-access-block.json", "s3-delete-account-public-access-block.json"} {
		res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/"+file))
		if len(calls) != 0 {
			t.Fatalf("%s: offline calls = %v", file, calls)
		}
		if d := res.Decisions[0]; d.Verdict != rule.Violation || !slices.Contains([]string{"planned s3:PutBucketPublicAccessBlock", "planned s3:PutAccountPublicAccessBlock"}, enginetest.Outcomes(d.Actions)[0]) {
			t.Fatalf("%s: %+v", file, d)
		}
	}
}

// TestSourceIPHalvesArePublic: a statement to everyone "pinned" to
// 0.0.0.0/1 and 128.0.0.0/1 is public (the halves cover the world); the
// statement pinned to an office range is not.
func TestSourceIPHalvesArePublic(t *testing.T) {
	s := mototest.Session(t)
	c := s3bucket.Client(s)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Halves","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*","Condition":{"IpAddress":{"aws:SourceIp":["0.0.0.0/1","128.0.0.0/1"]}}},` +
		`{"Sid":"Office","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::` + bucket + `","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, s3publicaccess.BucketAccess)
	res, _ := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/s3-put-bucket-policy-public.json"))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !strings.Contains(d.Reason, "statement Halves allows s3:GetObject to everyone") || strings.Contains(d.Reason, "Office") {
		t.Fatalf("decision = %+v", d)
	}
	if got := blockOf(t, s, bucket); got != allOn {
		t.Fatalf("block = %s", got)
	}
}
