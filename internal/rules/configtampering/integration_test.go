package configtampering_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/configtampering"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

const (
	roleARN = "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
	bucket  = "config-bucket-123456789012"
)

var baseline = map[string]string{configtampering.ParamRecorderRole: roleARN, configtampering.ParamBucket: bucket, configtampering.ParamPrefix: "config"}

func cfg(s *awsclient.Session) *configservice.Client {
	return awsclient.Client(s, configservice.NewFromConfig)
}

// seed sets up Config as a deployment would: the recorder "default"
// recording into a channel to an existing bucket.
func seed(t *testing.T, s *awsclient.Session) {
	t.Helper()
	ctx := context.Background()
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg(s).PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String(roleARN), RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg(s).PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String(bucket), S3KeyPrefix: aws.String("config")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg(s).StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
}

func stop(t *testing.T, s *awsclient.Session) {
	t.Helper()
	if _, err := cfg(s).StopConfigurationRecorder(context.Background(), &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
}

// state is the region's Config setup as one line, e.g.
// "recorder default role=… recording=true; channel default s3://bucket/prefix".
func state(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	ctx := context.Background()
	var parts []string
	recs, err := cfg(s).DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs.ConfigurationRecorders {
		st, err := cfg(s).DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{ConfigurationRecorderNames: []string{aws.ToString(r.Name)}})
		if err != nil {
			t.Fatal(err)
		}
		line := "recorder " + aws.ToString(r.Name) + " role=" + aws.ToString(r.RoleARN) +
			" all=" + boolText(r.RecordingGroup != nil && r.RecordingGroup.AllSupported)
		if g := r.RecordingGroup; g != nil && len(g.ResourceTypes) > 0 {
			line += fmt.Sprint(" types=", g.ResourceTypes)
		}
		parts = append(parts, line+" recording="+boolText(st.ConfigurationRecordersStatus[0].Recording))
	}
	chans, err := cfg(s).DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chans.DeliveryChannels {
		parts = append(parts, "channel "+aws.ToString(c.Name)+" s3://"+aws.ToString(c.S3BucketName)+"/"+aws.ToString(c.S3KeyPrefix))
	}
	return strings.Join(parts, "; ")
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

const running = "recorder default role=" + roleARN + " all=true recording=true; channel default s3://" + bucket + "/config"

func newEngine(t *testing.T, s *awsclient.Session, mode engine.Mode, topic string, params map[string]string) *engine.Engine {
	t.Helper()
	e, _ := enginetest.New(t, s, engine.Config{Mode: mode, TopicARN: topic, Params: map[string]map[string]string{"config-tampering": params}}, configtampering.Rule)
	return e
}

func outcomes(d rule.Action) string { return string(d.Outcome) + " " + d.API }

func actionsOf(res *engine.Result) []string {
	var out []string
	for _, a := range res.Decisions[0].Actions {
		out = append(out, outcomes(a))
	}
	return out
}

var describes = []string{"StarlingDoveService.DescribeConfigurationRecorders", "StarlingDoveService.DescribeConfigurationRecorderStatus", "StarlingDoveService.DescribeDeliveryChannels"}

func TestStoppedRecorderIsStartedAndDuplicateIsNoOp(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	stop(t, s)
	e := newEngine(t, s, engine.Enforce, "", nil)
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/config-stop-configuration-recorder.json"))
	if got := actionsOf(res); !slices.Equal(got, []string{"applied config:StartConfigurationRecorder"}) {
		t.Fatalf("actions = %v (%+v)", got, res.Decisions[0])
	}
	if want := append(slices.Clone(describes), "StarlingDoveService.StartConfigurationRecorder"); !slices.Equal(calls, want) {
		t.Fatalf("calls = %v\nwant    %v", calls, want)
	}
	if got := state(t, s); got != running {
		t.Fatalf("state = %s", got)
	}
	// The same event again: the recorder records, so nothing to do.
	res, calls = enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/config-stop-configuration-recorder.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant || len(d.Actions) != 0 {
		t.Fatalf("duplicate = %+v", d)
	}
	if !slices.Equal(calls, describes) {
		t.Fatalf("duplicate calls = %v", calls)
	}
}

func TestReportModeChangesNothing(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	stop(t, s)
	before := state(t, s)
	res, _ := enginetest.RecordedOne(t, newEngine(t, s, engine.Report, "", baseline), enginetest.Sample(t, "events/cloudtrail/config-stop-configuration-recorder.json"))
	if got := actionsOf(res); !slices.Equal(got, []string{"planned config:StartConfigurationRecorder"}) {
		t.Fatalf("actions = %v", got)
	}
	if got := state(t, s); got != before {
		t.Fatalf("report mode changed %s into %s", before, got)
	}
}

// A deleted delivery channel is alerted and, with the baseline, recreated
// and the recorder restarted; undo puts the region back as the intruder
// left it.
func TestDeletedChannelIsRestoredFromBaselineAndUndone(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	stop(t, s)
	if _, err := cfg(s).DeleteDeliveryChannel(context.Background(), &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	tampered := state(t, s)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	e := newEngine(t, s, engine.Enforce, topic.ARN, baseline)
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/config-delete-delivery-channel.json"))
	want := []string{"applied sns:Publish", "applied config:PutDeliveryChannel", "applied config:StartConfigurationRecorder"}
	if got := actionsOf(res); !slices.Equal(got, want) {
		t.Fatalf("actions = %v (%+v)", got, res.Decisions[0])
	}
	wantCalls := append(slices.Clone(describes), "StarlingDoveService.PutDeliveryChannel", "StarlingDoveService.StartConfigurationRecorder", "Publish")
	if !slices.Equal(calls, wantCalls) {
		t.Fatalf("calls = %v\nwant    %v", calls, wantCalls)
	}
	if got := state(t, s); got != running {
		t.Fatalf("state = %s", got)
	}
	n := topic.Received(t)
	if len(n) != 1 || !strings.Contains(n[0].Message, "no delivery channel in us-east-1") || !strings.Contains(n[0].Message, "arn:aws:iam::123456789012:user/bob") {
		t.Fatalf("notifications = %+v", n)
	}
	raw, _ := json.Marshal(res)
	var back engine.Result
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	undone, err := e.Undo(context.Background(), back.Decisions)
	if err != nil || len(undone) != 2 || undone[0].API != "config:StopConfigurationRecorder" || undone[1].API != "config:DeleteDeliveryChannel" {
		t.Fatalf("undo = %+v, %v", undone, err)
	}
	if got := state(t, s); got != tampered {
		t.Fatalf("after undo %s, want %s", got, tampered)
	}
}

// Without a baseline the rule only alerts: it never invents where Config
// should deliver or which role it should use.
func TestDeletedRecorderWithoutBaselineAlertsOnly(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	stop(t, s)
	if _, err := cfg(s).DeleteConfigurationRecorder(context.Background(), &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	before := state(t, s)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, engine.Enforce, topic.ARN, nil), enginetest.Sample(t, "events/cloudtrail/config-delete-configuration-recorder.json"))
	d := res.Decisions[0]
	if got := actionsOf(res); !slices.Equal(got, []string{"applied sns:Publish"}) || !strings.Contains(d.Reason, "recorderRoleArn is not set") {
		t.Fatalf("decision = %+v", d)
	}
	// No recorder, so no status call.
	if want := []string{describes[0], describes[2], "Publish"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v", calls)
	}
	if got := state(t, s); got != before {
		t.Fatalf("state changed: %s", got)
	}
	if n := topic.Received(t); len(n) != 1 || !strings.Contains(n[0].Subject, "config-tampering") {
		t.Fatalf("notifications = %+v", n)
	}
}

func TestDeletedRecorderIsRecreatedFromBaselineAndUndone(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	stop(t, s)
	if _, err := cfg(s).DeleteConfigurationRecorder(context.Background(), &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	tampered := state(t, s)
	e := newEngine(t, s, engine.Enforce, "", baseline)
	res, _ := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/config-delete-configuration-recorder.json"))
	want := []string{"skipped sns:Publish", "applied config:PutConfigurationRecorder", "applied config:StartConfigurationRecorder"}
	if got := actionsOf(res); !slices.Equal(got, want) {
		t.Fatalf("actions = %v", got)
	}
	if got := state(t, s); got != running {
		t.Fatalf("state = %s", got)
	}
	if _, err := e.Undo(context.Background(), res.Decisions); err != nil {
		t.Fatal(err)
	}
	if got := state(t, s); got != tampered {
		t.Fatalf("after undo %s, want %s", got, tampered)
	}
}

// The scheduled sweep reads the region once and fixes what the events
// missed.
func TestSweep(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	e := newEngine(t, s, engine.Enforce, "", nil)
	res, calls := enginetest.RecordedOne(t, e, enginetest.ScheduledEvent(t, "config-tampering"))
	if d := res.Decisions[0]; d.Rule != "config-tampering" || d.Verdict != rule.Compliant || d.Resource != "default" {
		t.Fatalf("decision = %+v", d)
	}
	if !slices.Equal(calls, describes) {
		t.Fatalf("calls = %v", calls)
	}
	stop(t, s)
	res, calls = enginetest.RecordedOne(t, e, enginetest.ScheduledEvent(t, "config-tampering"))
	if got := actionsOf(res); !slices.Equal(got, []string{"applied config:StartConfigurationRecorder"}) {
		t.Fatalf("actions = %v", got)
	}
	if len(calls) != 4 {
		t.Fatalf("calls = %v", calls)
	}
	if got := state(t, s); got != running {
		t.Fatalf("state = %s", got)
	}
}

// rampart plan decides from the event alone and makes no call.
func TestOfflinePlanMakesNoCall(t *testing.T) {
	mototest.Session(t)
	e := newEngine(t, awsclient.NewOffline("us-east-1"), engine.Enforce, "", baseline)
	for file, want := range map[string][]string{
		"config-stop-configuration-recorder.json":   {"planned config:StartConfigurationRecorder"},
		"config-delete-configuration-recorder.json": {"planned sns:Publish", "planned config:PutConfigurationRecorder", "planned config:StartConfigurationRecorder"},
		"config-delete-delivery-channel.json":       {"planned sns:Publish", "planned config:PutDeliveryChannel", "planned config:StartConfigurationRecorder"},
	} {
		res, calls := enginetest.Recorded(t, e, enginetest.Sample(t, "events/cloudtrail/"+file))
		if len(calls) != 0 {
			t.Fatalf("%s: offline calls = %v", file, calls)
		}
		if got := actionsOf(res); !slices.Equal(got, want) {
			t.Fatalf("%s: actions = %v, want %v", file, got, want)
		}
	}
}

// Apply's AWS error handling: a second undo finds nothing to do; starting a
// recorder that is gone is an error, not a no-op.
func TestApplyErrors(t *testing.T) {
	s := mototest.Session(t)
	del := rule.NewAction("config:DeleteDeliveryChannel", "default", "", map[string]string{"deliveryChannelName": "default"}, nil)
	if err := apply(t, s, del); !errorsIsNoOp(err) {
		t.Fatalf("delete of a missing channel = %v, want ErrNoOp", err)
	}
	stopA := rule.NewAction("config:StopConfigurationRecorder", "default", "", map[string]string{"recorderName": "default"}, nil)
	if err := apply(t, s, stopA); !errorsIsNoOp(err) {
		t.Fatalf("stop of a missing recorder = %v, want ErrNoOp", err)
	}
	start := rule.NewAction("config:StartConfigurationRecorder", "default", "", map[string]string{"recorderName": "default"}, nil)
	if err := apply(t, s, start); err == nil || errorsIsNoOp(err) || !awsclient.HasCode(err, "NoSuchConfigurationRecorderException") {
		t.Fatalf("start of a missing recorder = %v", err)
	}
	if err := apply(t, s, rule.NewAction("config:DeleteConfigRule", "x", "", map[string]string{}, nil)); err == nil {
		t.Fatal("an unknown API was applied")
	}
}

// apply binds the rule with its defaults and applies one action.
func apply(t *testing.T, s *awsclient.Session, a rule.Action) error {
	t.Helper()
	b, err := rule.BindWith(configtampering.Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.Apply(context.Background(), rule.Env{Session: s}, a)
}

func errorsIsNoOp(err error) bool { return errors.Is(err, rule.ErrNoOp) }

const otherRole = "arn:aws:iam::123456789012:role/config-lite"

func putRecorder(t *testing.T, s *awsclient.Session, r cfgtypes.ConfigurationRecorder) {
	t.Helper()
	if _, err := cfg(s).PutConfigurationRecorder(context.Background(), &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &r}); err != nil {
		t.Fatal(err)
	}
}

// A recorder narrowed to two types under another role is alerted, put back
// to all supported types with the baseline role (it keeps recording), and
// undo puts back exactly the narrowed recorder.
func TestNarrowedRecorderIsRestoredAndUndone(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	putRecorder(t, s, cfgtypes.ConfigurationRecorder{Name: aws.String("default"), RoleARN: aws.String(otherRole),
		RecordingGroup: &cfgtypes.RecordingGroup{ResourceTypes: []cfgtypes.ResourceType{"AWS::EC2::Instance", "AWS::EC2::Volume"}}})
	tampered := state(t, s)
	if !strings.Contains(tampered, "all=false types=[AWS::EC2::Instance AWS::EC2::Volume]") {
		t.Fatalf("seeded %s", tampered)
	}
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	e := newEngine(t, s, engine.Enforce, topic.ARN, baseline)
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/config-put-configuration-recorder-narrowed.json"))
	if got := actionsOf(res); !slices.Equal(got, []string{"applied sns:Publish", "applied config:PutConfigurationRecorder"}) {
		t.Fatalf("actions = %v (%+v)", got, res.Decisions[0])
	}
	if want := append(slices.Clone(describes), "StarlingDoveService.PutConfigurationRecorder", "Publish"); !slices.Equal(calls, want) {
		t.Fatalf("calls = %v", calls)
	}
	if got := state(t, s); got != running {
		t.Fatalf("state = %s", got)
	}
	n := topic.Received(t)
	if len(n) != 1 || !strings.Contains(n[0].Message, "no longer records all supported resource types") || !strings.Contains(n[0].Message, otherRole) {
		t.Fatalf("notifications = %+v", n)
	}
	// A duplicate finds the recorder whole.
	dup, _ := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/config-put-configuration-recorder-narrowed.json"))
	if d := dup.Decisions[0]; d.Verdict != rule.Compliant {
		t.Fatalf("duplicate = %+v", d)
	}
	undone, err := e.Undo(context.Background(), res.Decisions)
	if err != nil || len(undone) != 1 || undone[0].API != "config:PutConfigurationRecorder" {
		t.Fatalf("undo = %+v, %v", undone, err)
	}
	if got := state(t, s); got != tampered {
		t.Fatalf("after undo %s, want %s", got, tampered)
	}
}

// Without the baseline role a narrowed recorder is an alert only: Rampart
// may pass no role it was not given.
func TestNarrowedRecorderWithoutRoleAlertsOnly(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	putRecorder(t, s, cfgtypes.ConfigurationRecorder{Name: aws.String("default"), RoleARN: aws.String(roleARN),
		RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: false, RecordingStrategy: &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyTypeExclusionByResourceTypes},
			ExclusionByResourceTypes: &cfgtypes.ExclusionByResourceTypes{ResourceTypes: []cfgtypes.ResourceType{"AWS::EC2::SecurityGroup"}}}})
	before := state(t, s)
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, engine.Enforce, "", map[string]string{configtampering.ParamBucket: bucket, configtampering.ParamPrefix: "config"}),
		enginetest.Sample(t, "events/cloudtrail/config-put-configuration-recorder-narrowed.json"))
	d := res.Decisions[0]
	if got := actionsOf(res); !slices.Equal(got, []string{"skipped sns:Publish"}) || !strings.Contains(d.Reason, "does not record AWS::EC2::SecurityGroup") ||
		!strings.Contains(d.Reason, "recorderRoleArn is not set") {
		t.Fatalf("decision = %v %+v", got, d)
	}
	if c := lambdatest.Mutating(calls); len(c) > 0 {
		t.Fatalf("mutating calls %v", c)
	}
	if got := state(t, s); got != before {
		t.Fatalf("state changed: %s", got)
	}
}

// A delivery channel redirected to another bucket and topic is put back to
// the baseline; undo redirects it again, exactly.
func TestRedirectedChannelIsRestoredAndUndone(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	ctx := context.Background()
	if _, err := s3bucket.Client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("exfil-config-210987654321")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg(s).PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
		Name: aws.String("default"), S3BucketName: aws.String("exfil-config-210987654321"), SnsTopicARN: aws.String("arn:aws:sns:us-east-1:210987654321:exfil"),
		ConfigSnapshotDeliveryProperties: &cfgtypes.ConfigSnapshotDeliveryProperties{DeliveryFrequency: cfgtypes.MaximumExecutionFrequencyTwentyFourHours}}}); err != nil {
		t.Fatal(err)
	}
	tampered := channelLine(t, s)
	e := newEngine(t, s, engine.Enforce, "", baseline)
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/config-put-delivery-channel-redirected.json"))
	if got := actionsOf(res); !slices.Equal(got, []string{"skipped sns:Publish", "applied config:PutDeliveryChannel"}) {
		t.Fatalf("actions = %v (%+v)", got, res.Decisions[0])
	}
	if want := append(slices.Clone(describes), "StarlingDoveService.PutDeliveryChannel"); !slices.Equal(calls, want) {
		t.Fatalf("calls = %v", calls)
	}
	// The snapshot frequency is not part of the redirect: it stays.
	if got := channelLine(t, s); got != "default s3://"+bucket+"/config topic= frequency=TwentyFour_Hours" {
		t.Fatalf("channel = %s", got)
	}
	if _, err := e.Undo(ctx, res.Decisions); err != nil {
		t.Fatal(err)
	}
	if got := channelLine(t, s); got != tampered {
		t.Fatalf("after undo %s, want %s", got, tampered)
	}
}

func channelLine(t *testing.T, s *awsclient.Session) string {
	t.Helper()
	out, err := cfg(s).DescribeDeliveryChannels(context.Background(), &configservice.DescribeDeliveryChannelsInput{})
	if err != nil || len(out.DeliveryChannels) != 1 {
		t.Fatalf("channels = %+v, %v", out, err)
	}
	c := out.DeliveryChannels[0]
	freq := ""
	if c.ConfigSnapshotDeliveryProperties != nil {
		freq = string(c.ConfigSnapshotDeliveryProperties.DeliveryFrequency)
	}
	return fmt.Sprintf("%s s3://%s/%s topic=%s frequency=%s", aws.ToString(c.Name), aws.ToString(c.S3BucketName), aws.ToString(c.S3KeyPrefix), aws.ToString(c.SnsTopicARN), freq)
}

// A restore AWS would refuse is refused before any call: moto 5.2.1 ignores
// recordingMode, so an impossible mode would "succeed" there.
func TestApplyRefusesAnImpossibleRecorder(t *testing.T) {
	s := mototest.Session(t)
	seed(t, s)
	before := state(t, s)
	bad := map[string]any{"recorderName": "default", "recorder": map[string]any{"name": "default", "roleArn": roleARN, "allSupported": true,
		"recordingFrequency": "CONTINUOUS", "recordingModeOverrides": []map[string]any{
			{"recordingFrequency": "DAILY", "resourceTypes": []string{"AWS::EC2::VPC"}}, {"recordingFrequency": "DAILY", "resourceTypes": []string{"AWS::EC2::EIP"}}}}}
	err := apply(t, s, rule.NewAction("config:PutConfigurationRecorder", "default", "", bad, nil))
	if err == nil || !strings.Contains(err.Error(), "at most one recording mode override") {
		t.Fatalf("err = %v", err)
	}
	if got := state(t, s); got != before {
		t.Fatalf("state changed: %s", got)
	}
}
