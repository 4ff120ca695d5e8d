package ebsattachedencrypted_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/ebsattachedencrypted"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

const ruleName = "rampart-ebs-attached-encrypted"

// configEvent is a real-shaped Config invocation from events/config aimed at
// this rule, with the test-mode token and edits applied to the envelope and
// the item (see enginetest.ConfigInvocation).
func configEvent(t *testing.T, file string, edit func(ev, item map[string]any)) []byte {
	t.Helper()
	return enginetest.ConfigInvocation(t, file, ruleName, "{}", edit)
}

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode) (*engine.Engine, *enginetest.Evaluations) {
	t.Helper()
	return enginetest.New(t, s, engine.Config{Mode: mode}, ebsattachedencrypted.Rule)
}

type fixture struct {
	plain, encrypted, loose string // attached unencrypted, attached encrypted, unattached unencrypted
}

func seed(t *testing.T, s *awsclient.Session) fixture {
	t.Helper()
	c := awsclient.Client(s, ec2.NewFromConfig)
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1a")}})
	if err != nil {
		t.Fatal(err)
	}
	inst := aws.ToString(run.Instances[0].InstanceId)
	vol := func(encrypted bool) string {
		v, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(8), Encrypted: aws.Bool(encrypted)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(v.VolumeId)
	}
	f := fixture{plain: vol(false), encrypted: vol(true), loose: vol(false)}
	for i, id := range []string{f.plain, f.encrypted} {
		if _, err := c.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(id), InstanceId: aws.String(inst),
			Device: aws.String([]string{"/dev/sdf", "/dev/sdg"}[i])}); err != nil {
			t.Fatal(err)
		}
	}
	// Encrypting the fixture turned nothing on: the region starts with
	// encryption by default off, as the violation needs.
	return f
}

func enabled(t *testing.T, s *awsclient.Session) bool {
	t.Helper()
	out, err := awsclient.Client(s, ec2.NewFromConfig).GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToBool(out.EbsEncryptionByDefault)
}

func volumeEvent(t *testing.T, id string) []byte {
	return configEvent(t, "volume-change-notification.json", func(_, item map[string]any) {
		item["resourceId"] = id
		item["configuration"].(map[string]any)["volumeId"] = id
	})
}

// TestChangeNotificationReportsTheVolumeOnly: even in enforce mode the rule
// changes nothing, least of all the region-wide encryption by default
// (ebs-default-encryption's setting).
func TestChangeNotificationReportsTheVolumeOnly(t *testing.T) {
	s := mototest.Session(t)
	f := seed(t, s)
	e, rec := newEngine(t, s, engine.Enforce)
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, volumeEvent(t, f.plain)).Decisions
	got, _ := srv.Calls()
	d := ds[0]
	// The only action is the alert: the owner must act.
	if d.Verdict != rule.Violation || len(d.Actions) != 1 || d.Actions[0].API != rule.AlertAPI ||
		!strings.Contains(d.Reason, "cannot encrypt a volume in place") ||
		!strings.Contains(d.Reason, "ebs-default-encryption") {
		t.Fatalf("decision = %+v", d)
	}
	if enabled(t, s) {
		t.Fatal("a volume's rule turned the region's encryption by default on")
	}
	want := []string{"DescribeVolumes", "StarlingDoveService.PutEvaluations"}
	if !slices.Equal(got, want) {
		t.Fatalf("API calls = %v, want %v", got, want)
	}
	if ev := rec.Evals[0]; ev.ComplianceType != cfgtypes.ComplianceTypeNonCompliant || aws.ToString(ev.ComplianceResourceId) != f.plain {
		t.Fatalf("evaluation = %+v", ev)
	}
	// The volume itself is untouched: still unencrypted and attached.
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{f.plain}})
	if err != nil || aws.ToBool(out.Volumes[0].Encrypted) || len(out.Volumes[0].Attachments) != 1 {
		t.Fatalf("volume changed: %+v, %v", out, err)
	}
	// It declares no AWS write action: only the alert, which the engine
	// publishes to Rampart's own topic.
	if meta := ebsattachedencrypted.Rule.Meta(); !slices.Equal(meta.WriteActions, []string{rule.AlertAPI}) {
		t.Fatalf("the rule declares write actions %v", meta.WriteActions)
	}
}

func TestScheduledSweepJudgesEveryVolume(t *testing.T) {
	s := mototest.Session(t)
	f := seed(t, s)
	e, rec := newEngine(t, s, engine.Report)
	ds := enginetest.Handle(t, e, configEvent(t, "scheduled-notification.json", nil)).Decisions
	verdicts := map[string]rule.Verdict{}
	for _, d := range ds {
		verdicts[d.Resource] = d.Verdict
	}
	if verdicts[f.plain] != rule.Violation || verdicts[f.encrypted] != rule.Compliant || verdicts[f.loose] != rule.NotApplicable {
		t.Fatalf("verdicts = %v (fixture %+v)", verdicts, f)
	}
	if len(rec.Evals) != len(ds) {
		t.Fatalf("%d evaluations for %d decisions", len(rec.Evals), len(ds))
	}
	if enabled(t, s) {
		t.Fatal("report mode turned encryption by default on")
	}
}

func TestOversizedAndDeletedItems(t *testing.T) {
	s := mototest.Session(t)
	f := seed(t, s)
	e, _ := newEngine(t, s, engine.Report)
	// Oversized: no configuration in the event; the live state decides.
	ds := enginetest.Handle(t, e, configEvent(t, "sg-oversized-notification.json", func(_, item map[string]any) {
		item["resourceType"], item["resourceId"] = "AWS::EC2::Volume", f.plain
	})).Decisions
	if ds[0].Verdict != rule.Violation || ds[0].Resource != f.plain {
		t.Fatalf("oversized = %+v", ds[0])
	}
	ds = enginetest.Handle(t, e, configEvent(t, "sg-deleted-notification.json", func(_, item map[string]any) {
		item["resourceType"], item["resourceId"] = "AWS::EC2::Volume", f.plain
	})).Decisions
	if ds[0].Verdict != rule.NotApplicable {
		t.Fatalf("deleted = %+v", ds[0])
	}
	// A volume that is gone by the time the event arrives.
	ds = enginetest.Handle(t, e, volumeEvent(t, "vol-0000000000000dead")).Decisions
	if ds[0].Verdict != rule.NotApplicable || !strings.Contains(ds[0].Reason, "no longer exists") {
		t.Fatalf("gone = %+v", ds[0])
	}
}

func TestOfflinePlanFromTheConfigurationItem(t *testing.T) {
	mototest.Session(t)
	e, _ := newEngine(t, awsclient.NewOffline("us-east-1"), engine.Enforce)
	srv := mototest.Record(t)
	ds := enginetest.Handle(t, e, configEvent(t, "volume-change-notification.json", nil)).Decisions
	if got, _ := srv.Calls(); len(got) != 0 {
		t.Fatalf("offline plan made calls: %v", got)
	}
	if ds[0].Verdict != rule.Violation || len(ds[0].Actions) != 1 || ds[0].Actions[0].API != rule.AlertAPI || ds[0].Actions[0].Outcome != rule.Planned {
		t.Fatalf("decision = %+v", ds[0])
	}
}
