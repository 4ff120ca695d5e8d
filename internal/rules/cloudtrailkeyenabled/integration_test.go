package cloudtrailkeyenabled_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/cloudtrailkeyenabled"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

// sampleKey is the key the samples under events/ name.
const sampleKey = "1234abcd-12ab-34cd-56ef-1234567890ab"

func kmsc(s *awsclient.Session) *kms.Client { return awsclient.Client(s, kms.NewFromConfig) }

// newKey makes a key in moto and returns its ARN.
func newKey(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	out, err := kmsc(s).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("trail key")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// id is a key ARN's key ID: moto 5.2.1 takes only IDs in DisableKey and
// ScheduleKeyDeletion.
func id(key string) *string { return aws.String(key[strings.LastIndex(key, "/")+1:]) }

// trailWith makes a multi-region trail encrypting with key.
func trailWith(t *testing.T, s *awsclient.Session, name, key string) {
	t.Helper()
	if _, err := awsclient.Client(s, s3.NewFromConfig).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name + "-logs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := awsclient.Client(s, cloudtrail.NewFromConfig).CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name),
		S3BucketName: aws.String(name + "-logs"), IsMultiRegionTrail: aws.Bool(true), KmsKeyId: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
}

func keyState(t *testing.T, s *awsclient.Session, key string) string {
	t.Helper()
	out, err := kmsc(s).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return string(out.KeyMetadata.KeyState)
}

// event is a sample with its invented key replaced by the live one.
func event(t *testing.T, file, key string) []byte {
	t.Helper()
	id := key[strings.LastIndex(key, "/")+1:]
	return enginetest.Sample(t, "events/cloudtrail/"+file, sampleKey, id)
}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, params map[string]string) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode, Params: map[string]map[string]string{"cloudtrail-key-enabled": params}}, cloudtrailkeyenabled.Rule)
	return e
}

func TestDisabledTrailKeyIsEnabledAndUndone(t *testing.T) {
	s := mototest.Session(t)
	key := newKey(t, s)
	trailWith(t, s, "org-audit", key)
	if _, err := kmsc(s).DisableKey(ctx, &kms.DisableKeyInput{KeyId: id(key)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, nil)
	res, calls := enginetest.RecordedOne(t, e, event(t, "kms-disable-key.json", key))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || d.Resource != key || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied kms:EnableKey"}) || !strings.Contains(d.Reason, "org-audit") {
		t.Fatalf("decision = %+v", d)
	}
	if got := keyState(t, s, key); got != "Enabled" {
		t.Fatalf("key state = %s", got)
	}
	if want := []string{"CloudTrail_20131101.DescribeTrails", "TrentService.DescribeKey", "TrentService.EnableKey"}; !slices.Equal(calls, want) {
		t.Fatalf("API calls = %v, want %v", calls, want)
	}
	if d := enginetest.One(t, e, event(t, "kms-disable-key.json", key)); d.Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", d)
	}
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied kms:DisableKey"}) || keyState(t, s, key) != "Disabled" {
		t.Fatalf("undo = %v", got)
	}
}

func TestScheduledDeletionIsCancelledAndTheKeyEnabled(t *testing.T) {
	s := mototest.Session(t)
	key := newKey(t, s)
	trailWith(t, s, "org-audit", key)
	if _, err := kmsc(s).ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id(key), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, nil)
	res, calls := enginetest.RecordedOne(t, e, event(t, "kms-schedule-key-deletion.json", key))
	d := res.Decisions[0]
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"applied kms:CancelKeyDeletion", "applied kms:EnableKey"}) {
		t.Fatalf("decision = %+v", d)
	}
	if got := keyState(t, s, key); got != "Enabled" {
		t.Fatalf("key state = %s", got)
	}
	if want := []string{"CloudTrail_20131101.DescribeTrails", "TrentService.DescribeKey", "TrentService.CancelKeyDeletion", "TrentService.EnableKey"}; !slices.Equal(calls, want) {
		t.Fatalf("API calls = %v, want %v", calls, want)
	}
	// Undo, newest first: disable, then schedule the deletion again.
	if got := enginetest.Undo(t, e, enginetest.RoundTrip(t, res)); !slices.Equal(got, []string{"applied kms:DisableKey", "applied kms:ScheduleKeyDeletion"}) {
		t.Fatalf("undo = %v", got)
	}
	if got := keyState(t, s, key); got != "PendingDeletion" {
		t.Fatalf("after undo key state = %s", got)
	}
}

func TestOtherKeysAreLeftAlone(t *testing.T) {
	s := mototest.Session(t)
	trailKey, other := newKey(t, s), newKey(t, s)
	trailWith(t, s, "org-audit", trailKey)
	if _, err := kmsc(s).DisableKey(ctx, &kms.DisableKeyInput{KeyId: id(other)}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, s, engine.Enforce, nil)
	res, calls := enginetest.RecordedOne(t, e, event(t, "kms-disable-key.json", other))
	if d := res.Decisions[0]; d.Verdict != rule.NotApplicable || len(d.Actions) != 0 {
		t.Fatalf("decision = %+v", d)
	}
	if want := []string{"CloudTrail_20131101.DescribeTrails"}; !slices.Equal(calls, want) {
		t.Fatalf("API calls = %v, want %v", calls, want)
	}
	if got := keyState(t, s, other); got != "Disabled" {
		t.Fatalf("key state = %s", got)
	}
}

func TestTheDeploymentsKeyIsGuardedWithoutATrail(t *testing.T) {
	s := mototest.Session(t)
	key := newKey(t, s)
	if _, err := kmsc(s).DisableKey(ctx, &kms.DisableKeyInput{KeyId: id(key)}); err != nil {
		t.Fatal(err)
	}
	// Report mode: the plan, and no change.
	e := newEngine(t, s, engine.Report, map[string]string{cloudtrailkeyenabled.ParamKey: key})
	d := enginetest.One(t, e, event(t, "kms-disable-key.json", key))
	if d.Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(d.Actions), []string{"planned kms:EnableKey"}) {
		t.Fatalf("decision = %+v", d)
	}
	if got := keyState(t, s, key); got != "Disabled" {
		t.Fatalf("report mode changed the key: %s", got)
	}
}

func TestSweepJudgesEveryTrailKeyOfTheRegion(t *testing.T) {
	s := mototest.Session(t)
	a, b, unused := newKey(t, s), newKey(t, s), newKey(t, s)
	trailWith(t, s, "audit-a", a)
	trailWith(t, s, "audit-b", b)
	for _, k := range []string{b, unused} {
		if _, err := kmsc(s).DisableKey(ctx, &kms.DisableKeyInput{KeyId: id(k)}); err != nil {
			t.Fatal(err)
		}
	}
	e := newEngine(t, s, engine.Enforce, nil)
	res := enginetest.Handle(t, e, enginetest.ScheduledEvent(t, "cloudtrail-key-enabled"))
	got := map[string]string{}
	for _, d := range res.Decisions {
		got[d.Resource] = string(d.Verdict) + " " + strings.Join(enginetest.Outcomes(d.Actions), ",")
	}
	if len(got) != 2 || got[a] != "compliant " || got[b] != "violation applied kms:EnableKey" {
		t.Fatalf("decisions = %v", got)
	}
	if keyState(t, s, b) != "Enabled" || keyState(t, s, unused) != "Disabled" {
		t.Fatal("the sweep fixed the wrong keys")
	}
}
