package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// doctorRun runs `rampart doctor --json` for us-east-1 and returns its exit
// code and checks by "check" (several per check joined in order).
func doctorRun(t *testing.T, extra ...string) (int, map[string][]check) {
	t.Helper()
	args := append([]string{"doctor", "--json", "--regions", mototest.Region, "--cdk-json", filepath.Join(t.TempDir(), "none.json")}, extra...)
	code, out, errOut := cli(t, "", nil, args...)
	var res struct{ Checks []check }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("doctor output: %v\n%s%s", err, out, errOut)
	}
	by := map[string][]check{}
	for _, c := range res.Checks {
		by[c.Check] = append(by[c.Check], c)
	}
	return code, by
}

func statuses(cs []check) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Status)
	}
	return strings.Join(s, ",")
}

func TestDoctorOnAnEmptyAccount(t *testing.T) {
	mototest.Session(t)
	code, by := doctorRun(t)
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	for _, name := range []string{"trail", "config", "topic", "enabled"} {
		if got := statuses(by[name]); got != checkFail {
			t.Errorf("%s: %s %v, want fail", name, got, by[name])
		}
	}
	if !strings.Contains(by["trail"][0].Message, "event history is not enough") {
		t.Errorf("trail message: %q", by["trail"][0].Message)
	}
	// moto's DescribeRegions lists every commercial region: the others are uncovered.
	if got := statuses(by["regions"]); got != checkWarn {
		t.Errorf("regions: %v", by["regions"])
	}
}

func TestDoctorOnAHealthyDeployment(t *testing.T) {
	s := mototest.Session(t)
	simpleLambda(t, mototest.Shared(t))
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A logging trail.
	must(awsclient.Client(s, s3.NewFromConfig).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")}))
	ct := awsclient.Client(s, cloudtrail.NewFromConfig)
	must(ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org"), S3BucketName: aws.String("trail-logs"), IsMultiRegionTrail: aws.Bool(true)}))
	must(ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org")}))
	// A recorder of all supported types, global ones included.
	cs := awsclient.Client(s, configservice.NewFromConfig)
	must(cs.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String("default"), RoleARN: aws.String("arn:aws:iam::123456789012:role/config"),
		RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}}}))
	must(cs.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{Name: aws.String("default"), S3BucketName: aws.String("trail-logs")}}))
	must(cs.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}))
	// The topic, with a confirmed (SQS) subscription.
	topic, err := awsclient.Client(s, sns.NewFromConfig).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(topicName)})
	must(topic, err)
	q, err := awsclient.Client(s, sqs.NewFromConfig).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("alerts")})
	must(q, err)
	must(awsclient.Client(s, sns.NewFromConfig).Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:us-east-1:123456789012:alerts")}))
	// An enabled rule, and every function with its role.
	eb := awsclient.Client(s, eventbridge.NewFromConfig)
	must(eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("rampart-sg-ingress"), EventPattern: aws.String(`{"source":["aws.ec2"]}`)}))
	ic := awsclient.Client(s, iam.NewFromConfig)
	lc := awsclient.Client(s, lambda.NewFromConfig)
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, _ := zw.Create("bootstrap")
	_, _ = w.Write([]byte("#!/bin/sh\n"))
	_ = zw.Close()
	for fn := range catalog.Functions() {
		role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("rampart-" + fn),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
		must(role, err)
		must(lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("rampart-" + fn), Role: role.Role.Arn,
			Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: zipped.Bytes()}}))
	}

	code, by := doctorRun(t)
	for name, cs := range by {
		for _, c := range cs {
			if c.Status == checkFail {
				t.Errorf("%s failed: %s", name, c.Message)
			}
		}
	}
	if code != exitOK {
		t.Errorf("exit %d, want %d", code, exitOK)
	}
	for _, name := range []string{"credentials", "trail", "config", "topic", "enabled"} {
		if got := statuses(by[name]); got != checkPass {
			t.Errorf("%s: %s %v, want pass", name, got, by[name])
		}
	}
	// moto 5.2.1 does not implement iam:SimulatePrincipalPolicy: the check
	// must say it could not verify, never pass.
	if len(by["permissions"]) != len(catalog.Functions()) {
		t.Errorf("permissions: %d checks, want one per function", len(by["permissions"]))
	}
	for _, c := range by["permissions"] {
		if strings.Contains(c.Message, "all 0 declared actions") {
			continue // a function whose rules only alert needs no AWS action: nothing to simulate
		}
		if c.Status != checkWarn || !strings.Contains(c.Message, "could not verify") {
			t.Errorf("permissions under moto: %s %q, want warn \"could not verify\"", c.Status, c.Message)
		}
	}

	// Now an attacker quietly switches Rampart off: a rule disabled, a
	// function throttled to zero, the trail stopped.
	must(eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("rampart-sg-ingress")}))
	must(lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("rampart-securitygroup"), ReservedConcurrentExecutions: aws.Int32(0)}))
	must(ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("org")}))
	code, by = doctorRun(t)
	if code != exitFailed {
		t.Errorf("exit %d after disabling, want %d", code, exitFailed)
	}
	msgs := ""
	for _, c := range append(by["enabled"], by["trail"]...) {
		msgs += c.Status + " " + c.Message + "\n"
	}
	for _, want := range []string{"fail disabled EventBridge rules: rampart-sg-ingress", "fail functions with reserved concurrency 0 (never run): rampart-securitygroup", "not logging: org"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("want %q in:\n%s", want, msgs)
		}
	}
}

func TestDoctorSettings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cdk.json")
	if err := os.WriteFile(p, []byte(`{"context":{"rampart:regions":["us-east-1","eu-west-1"],"rampart:notificationEmail":"none"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := readSettings(p)
	if err != nil || strings.Join(s.Regions, ",") != "us-east-1,eu-west-1" || s.NotificationEmail != "none" {
		t.Errorf("readSettings = %+v, %v", s, err)
	}
	if s, err := readSettings(filepath.Join(t.TempDir(), "missing.json")); err != nil || len(s.Regions) != 0 {
		t.Errorf("a missing cdk.json: %+v, %v", s, err)
	}
	if code, _, _ := cli(t, "", nil, "doctor", "extra"); code != exitBadUsed {
		t.Errorf("doctor extra: exit %d", code)
	}
}

func TestUnrecorded(t *testing.T) {
	needed := []string{"AWS::EC2::Volume", "AWS::IAM::User"}
	tests := []struct {
		name string
		g    *cfgtypes.RecordingGroup
		want string
	}{
		{"none", nil, "AWS::EC2::Volume,AWS::IAM::User"},
		{"all with global", &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}, ""},
		{"all without global", &cfgtypes.RecordingGroup{AllSupported: true}, "AWS::IAM::User"},
		{"listed", &cfgtypes.RecordingGroup{ResourceTypes: []cfgtypes.ResourceType{"AWS::EC2::Volume"}}, "AWS::IAM::User"},
		{"excluded", &cfgtypes.RecordingGroup{RecordingStrategy: &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyTypeExclusionByResourceTypes},
			ExclusionByResourceTypes: &cfgtypes.ExclusionByResourceTypes{ResourceTypes: []cfgtypes.ResourceType{"AWS::EC2::Volume"}}}, "AWS::EC2::Volume"},
	}
	for _, tt := range tests {
		if got := strings.Join(unrecorded(tt.g, needed), ","); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// cdk.json's default "all" is read as every enabled region, and the
// deployment's parameters decide which gated write actions a role needs.
func TestDoctorReadsAllRegionsAndGatedWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cdk.json")
	if err := os.WriteFile(path, []byte(`{"context": {"rampart:regions": "all", "rampart:params": {"config-tampering": {"recorderRoleArn": "arn:aws:iam::123456789012:role/config"}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := readSettings(path)
	if err != nil || !s.RegionsAll || len(s.Regions) != 0 {
		t.Fatalf("settings = %+v, %v", s, err)
	}
	fns := catalog.Functions()
	with, err := declaredActions(fns["config"], s.Params)
	if err != nil {
		t.Fatal(err)
	}
	without, err := declaredActions(fns["config"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(with, "config:PutConfigurationRecorder") || slices.Contains(without, "config:PutConfigurationRecorder") {
		t.Errorf("gated write: with the role %v, without %v", with, without)
	}
	if slices.Contains(with, "sns:Publish") {
		t.Error("alerts go to Rampart's topic: sns:Publish on * is not a declared action to simulate")
	}
}
