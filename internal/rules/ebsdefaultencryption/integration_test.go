package ebsdefaultencryption_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/ebsdefaultencryption"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

func disableEvent(t *testing.T) []byte {
	t.Helper()
	return enginetest.Sample(t, "events/cloudtrail/ec2-disable-ebs-encryption-by-default.json")
}

func newEngine(t *testing.T, s *awsclient.Session, cfg engine.Config) (*engine.Engine, *enginetest.Evaluations) {
	t.Helper()
	return enginetest.New(t, s, cfg, ebsdefaultencryption.Rule)
}

func enabled(t *testing.T, s *awsclient.Session) bool {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToBool(out.EbsEncryptionByDefault)
}

func TestDisableIsTurnedBackOnOnceAndDuplicatesAreNoOps(t *testing.T) {
	s := mototest.Session(t) // moto starts with encryption by default off: the attacker's result
	e, _ := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, disableEvent(t)).Decisions
	got := srv.Recorded(t)
	if len(ds) != 1 || ds[0].Verdict != rule.Violation || len(ds[0].Actions) != 1 || ds[0].Actions[0].Outcome != rule.Applied {
		t.Fatalf("decisions = %+v", ds)
	}
	if ds[0].Resource != "123456789012" || ds[0].Actions[0].API != ebsdefaultencryption.APIEnable || ds[0].Actions[0].Undo.API != ebsdefaultencryption.APIDisable {
		t.Fatalf("decision = %+v", ds[0])
	}
	if !enabled(t, s) {
		t.Fatal("encryption by default is still off")
	}
	want := []string{"GetEbsEncryptionByDefault", "EnableEbsEncryptionByDefault"}
	if !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	// The same event delivered again: nothing to do.
	ds = enginetest.Handle(t, e, disableEvent(t)).Decisions
	if ds[0].Verdict != rule.Compliant || len(ds[0].Actions) != 0 {
		t.Fatalf("duplicate = %+v", ds[0])
	}
	// Undo turns it off again.
	undone, err := e.Undo(ctx, []report.Decision{{Rule: "ebs-default-encryption", Actions: []rule.Action{{API: ebsdefaultencryption.APIEnable, Outcome: rule.Applied,
		Undo: &rule.Action{API: ebsdefaultencryption.APIDisable, Target: "us-east-1", Params: json.RawMessage(`{"region":"us-east-1"}`)}}}}})
	if err != nil || undone[0].Outcome != rule.Applied || enabled(t, s) {
		t.Fatalf("undo = %+v, %v; enabled = %v", undone, err, enabled(t, s))
	}
}

func TestReportModeChangesNothing(t *testing.T) {
	s := mototest.Session(t)
	e, _ := newEngine(t, s, engine.Config{Mode: engine.Report})
	ds := enginetest.Handle(t, e, disableEvent(t)).Decisions
	if ds[0].Verdict != rule.Violation || ds[0].Actions[0].Outcome != rule.Planned {
		t.Fatalf("decision = %+v", ds[0])
	}
	if enabled(t, s) {
		t.Fatal("report mode changed the setting")
	}
}

func TestOfflinePlanMakesNoCall(t *testing.T) {
	mototest.Session(t)
	e, _ := newEngine(t, awsclient.NewOffline("us-east-1"), engine.Config{Mode: engine.Enforce})
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, disableEvent(t)).Decisions
	if got := srv.Recorded(t); len(got) != 0 {
		t.Fatalf("offline plan made calls: %v", got)
	}
	if ds[0].Verdict != rule.Violation || ds[0].Mode != string(engine.Plan) || ds[0].Actions[0].Outcome != rule.Planned || ds[0].Actions[0].API != ebsdefaultencryption.APIEnable {
		t.Fatalf("decision = %+v", ds[0])
	}
}

// scheduled is the real-shaped ScheduledNotification aimed at this rule,
// with the test-mode token.
func scheduled(t *testing.T, params string) []byte {
	t.Helper()
	return enginetest.ConfigInvocation(t, "scheduled-notification.json", "rampart-ebs-default-encryption", params, nil)
}

func TestConfigPeriodicEvaluatesTheAccount(t *testing.T) {
	s := mototest.Session(t)
	e, rec := newEngine(t, s, engine.Config{Mode: engine.Enforce})
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, scheduled(t, "{}")).Decisions
	got := srv.Recorded(t)
	if len(ds) != 1 || ds[0].Verdict != rule.Violation || ds[0].Actions[0].Outcome != rule.Applied || !enabled(t, s) {
		t.Fatalf("decisions = %+v", ds)
	}
	if len(rec.Evals) != 1 || aws.ToString(rec.Evals[0].ComplianceResourceType) != "AWS::::Account" ||
		aws.ToString(rec.Evals[0].ComplianceResourceId) != "123456789012" || rec.Evals[0].ComplianceType != cfgtypes.ComplianceTypeNonCompliant ||
		!strings.Contains(aws.ToString(rec.Evals[0].Annotation), "applied ec2:EnableEbsEncryptionByDefault") {
		t.Fatalf("evaluations = %+v", rec.Evals)
	}
	want := []string{"GetEbsEncryptionByDefault", "EnableEbsEncryptionByDefault", "StarlingDoveService.PutEvaluations"}
	if !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	// Bad parameters: a clear error and no call.
	srv = mototest.Record(t)
	if _, err := e.Handle(ctx, scheduled(t, `{"kmsKeyId":"alias/mine"}`)); err == nil {
		t.Fatal("an alias key parameter was accepted")
	}
	if got := srv.Recorded(t); len(got) != 0 {
		t.Fatalf("bad parameters made calls: %v", got)
	}
}

// createKey makes a KMS key in moto. The SDK's KMS module is not linked for
// one test call: this is the same JSON request the SDK would send.
func createKey(t *testing.T) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, mototest.Shared(t).URL+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "TrentService.CreateKey")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ KeyMetadata struct{ Arn string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.KeyMetadata.Arn == "" {
		t.Fatalf("create key: %v %+v", err, out)
	}
	return out.KeyMetadata.Arn
}

// defaultKey is the key a new encrypted volume gets: moto 5.2.1 has no
// GetEbsDefaultKmsKeyId, but honours the default when creating volumes.
func defaultKey(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	v, err := awsclient.Client(s, ec2.NewFromConfig).CreateVolume(ctx, &ec2.CreateVolumeInput{
		AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(1), Encrypted: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(v.KmsKeyId)
}

// TestModifyDefaultKeyAndUndo applies the key half of a plan against moto.
// moto 5.2.1 lacks GetEbsDefaultKmsKeyId and ResetEbsDefaultKmsKeyId (both
// answer 500), so Evaluate with a kmsKeyId cannot run there: the comparison
// and the plan are unit-tested (TestPlan, TestKeyMatches) and the calls
// moto has are applied here.
func TestModifyDefaultKeyAndUndo(t *testing.T) {
	s := mototest.Session(t)
	keyA, keyB := createKey(t), createKey(t)
	plan := ebsdefaultencryption.Plan("us-east-1", ebsdefaultencryption.State{Enabled: true, Key: keyA}, keyB)
	if len(plan) != 1 || plan[0].API != ebsdefaultencryption.APIModifyKey {
		t.Fatalf("plan = %+v", plan)
	}
	// Start from keyA as the default, as the plan assumes.
	if err := ebsdefaultencryption.Apply(ctx, s, *plan[0].Undo); err != nil {
		t.Fatal(err)
	}
	if got := defaultKey(t, s); got != keyA {
		t.Fatalf("default key = %s, want %s", got, keyA)
	}
	b, err := rule.BindWith(ebsdefaultencryption.Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, rule.Env{Session: s}, plan[0]); err != nil {
		t.Fatal(err)
	}
	if got := defaultKey(t, s); got != keyB {
		t.Fatalf("after the fix the default key = %s, want %s", got, keyB)
	}
	if err := b.Apply(ctx, rule.Env{Session: s}, *plan[0].Undo); err != nil {
		t.Fatal(err)
	}
	if got := defaultKey(t, s); got != keyA {
		t.Fatalf("after undo the default key = %s, want %s", got, keyA)
	}
	// An action for another region is refused, not applied here.
	other := ebsdefaultencryption.Plan("eu-west-1", ebsdefaultencryption.State{}, "")[0]
	if err := ebsdefaultencryption.Apply(ctx, s, other); err == nil {
		t.Fatal("an action for eu-west-1 was applied in us-east-1")
	}
}
