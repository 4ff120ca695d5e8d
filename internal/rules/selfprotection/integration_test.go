package selfprotection_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/selfprotection"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

var ctx = context.Background()

func eb(s *awsclient.Session) *eventbridge.Client {
	return awsclient.Client(s, eventbridge.NewFromConfig)
}
func fns(s *awsclient.Session) *lambda.Client { return awsclient.Client(s, lambda.NewFromConfig) }

// function creates a Lambda function (moto needs no code that runs) and
// returns its ARN.
func function(t *testing.T, s *awsclient.Session, name string) string {
	t.Helper()
	role, err := awsclient.Client(s, iam.NewFromConfig).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := fns(s).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: role.Role.Arn,
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: zipped}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.FunctionArn)
}

// zipped is an empty zip archive.
var zipped = []byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// eventRule creates an EventBridge rule targeting arn, in the given state.
func eventRule(t *testing.T, s *awsclient.Session, name, target string, state ebtypes.RuleState) {
	t.Helper()
	if _, err := eb(s).PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), State: state,
		EventPattern: aws.String(`{"source":["aws.ec2"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb(s).PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name),
		Targets: []ebtypes.Target{{Id: aws.String("Target0"), Arn: aws.String(target)}}}); err != nil {
		t.Fatal(err)
	}
}

func ruleState(t *testing.T, s *awsclient.Session, name string) ebtypes.RuleState {
	t.Helper()
	out, err := eb(s).DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.State
}

func reserved(t *testing.T, s *awsclient.Session, name string) *int32 {
	t.Helper()
	out, err := fns(s).GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.ReservedConcurrentExecutions
}

func zero(t *testing.T, s *awsclient.Session, name string) {
	t.Helper()
	if _, err := fns(s).PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
}

func newEngine(t *testing.T, s *awsclient.Session, topic string) *engine.Engine {
	t.Helper()
	t.Setenv(selfprotection.EnvDeployerARNs, "")
	t.Setenv(selfprotection.EnvTopicARN, "")
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, TopicARN: topic}, selfprotection.Rule)
	return e
}

func outcomes(d []rule.Action) []string { return enginetest.Outcomes(d) }

// DisableRule on a Rampart rule: alerted, enabled again (two reads, one
// write, the notification); undo disables it again.
func TestDisabledRuleIsEnabledAndUndone(t *testing.T) {
	s := mototest.Session(t)
	fn := function(t, s, "rampart-securitygroup")
	eventRule(t, s, "rampart-sg-open-world", fn, ebtypes.RuleStateDisabled)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	e := newEngine(t, s, topic.ARN)
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/events-disable-rule-rampart.json"))
	d := res.Decisions[0]
	if got := outcomes(d.Actions); !slices.Equal(got, []string{"applied sns:Publish", "applied events:EnableRule"}) || d.Verdict != rule.Violation {
		t.Fatalf("decision = %v %+v", got, d)
	}
	if want := []string{"AWSEvents.DescribeRule", "AWSEvents.ListTargetsByRule", "AWSEvents.EnableRule", "Publish"}; !slices.Equal(calls, want) {
		t.Fatalf("calls = %v", calls)
	}
	if st := ruleState(t, s, "rampart-sg-open-world"); st != ebtypes.RuleStateEnabled {
		t.Fatalf("state = %s", st)
	}
	n := topic.Received(t)
	if len(n) != 1 || !strings.Contains(n[0].Message, "arn:aws:iam::123456789012:user/bob disabled Rampart's EventBridge rule rampart-sg-open-world") {
		t.Fatalf("notifications = %+v", n)
	}
	// A duplicate alerts again but changes nothing.
	dup, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/events-disable-rule-rampart.json"))
	if got := outcomes(dup.Decisions[0].Actions); !slices.Equal(got, []string{"applied sns:Publish"}) || lambdatest.Changes(calls) != nil {
		t.Fatalf("duplicate = %v, calls %v", got, calls)
	}
	if _, err := e.Undo(ctx, res.Decisions); err != nil {
		t.Fatal(err)
	}
	if st := ruleState(t, s, "rampart-sg-open-world"); st != ebtypes.RuleStateDisabled {
		t.Fatalf("after undo state = %s", st)
	}
}

// An intruder's own disabled "rampart-x" rule, targeting his function, is
// alerted but never enabled.
func TestLookalikeRuleIsNotEnabled(t *testing.T) {
	s := mototest.Session(t)
	fn := function(t, s, "payload")
	eventRule(t, s, "rampart-sg-open-world", fn, ebtypes.RuleStateDisabled)
	res, calls := enginetest.RecordedOne(t, newEngine(t, s, ""), enginetest.Sample(t, "events/cloudtrail/events-disable-rule-rampart.json"))
	d := res.Decisions[0]
	if got := outcomes(d.Actions); !slices.Equal(got, []string{"skipped sns:Publish"}) || !strings.Contains(d.Reason, "targets no Rampart function") {
		t.Fatalf("decision = %v %+v", got, d)
	}
	if c := lambdatest.Mutating(calls); len(c) > 0 {
		t.Fatalf("mutating calls %v", c)
	}
	if st := ruleState(t, s, "rampart-sg-open-world"); st != ebtypes.RuleStateDisabled {
		t.Fatalf("state = %s", st)
	}
}

// PutFunctionConcurrency 0 on a Rampart function: the reservation is
// removed; undo reserves zero again.
func TestZeroConcurrencyIsRemovedAndUndone(t *testing.T) {
	s := mototest.Session(t)
	function(t, s, "rampart-securitygroup")
	zero(t, s, "rampart-securitygroup")
	e := newEngine(t, s, "")
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/lambda-put-function-concurrency-zero.json"))
	d := res.Decisions[0]
	if got := outcomes(d.Actions); !slices.Equal(got, []string{"skipped sns:Publish", "applied lambda:DeleteFunctionConcurrency"}) {
		t.Fatalf("decision = %v %+v", got, d)
	}
	if len(calls) != 2 || !strings.HasPrefix(calls[0], "GET ") || !strings.HasPrefix(calls[1], "DELETE ") || !strings.HasSuffix(calls[1], "/rampart-securitygroup/concurrency") {
		t.Fatalf("calls = %v", calls)
	}
	if r := reserved(t, s, "rampart-securitygroup"); r != nil {
		t.Fatalf("reserved = %d", *r)
	}
	if _, err := e.Undo(ctx, res.Decisions); err != nil {
		t.Fatal(err)
	}
	if r := reserved(t, s, "rampart-securitygroup"); r == nil || *r != 0 {
		t.Fatalf("after undo reserved = %v", r)
	}
}

// Changes that cannot be restored are alerts; a deployer's are not even that.
func TestAlertOnlyAndDeployer(t *testing.T) {
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	e := newEngine(t, s, topic.ARN)
	res, calls := enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/cloudformation-update-stack-rampart.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Violation || !slices.Equal(outcomes(d.Actions), []string{"applied sns:Publish"}) || !slices.Equal(calls, []string{"Publish"}) {
		t.Fatalf("decision = %+v, calls %v", d, calls)
	}
	res, calls = enginetest.RecordedOne(t, e, enginetest.Sample(t, "events/cloudtrail/cloudformation-execute-change-set-by-deployer.json"))
	if d := res.Decisions[0]; d.Verdict != rule.Compliant || len(calls) != 0 {
		t.Fatalf("deployer = %+v, calls %v", d, calls)
	}
	if n := topic.Received(t); len(n) != 1 || !strings.Contains(n[0].Message, "updated Rampart's stack rampart-us-east-1") {
		t.Fatalf("notifications = %+v", n)
	}
}

// The hourly sweep reports every Rampart rule and function, restores a
// disabled rule and a zero concurrency it finds, and leaves a look-alike.
func TestSweep(t *testing.T) {
	s := mototest.Session(t)
	guard := function(t, s, "rampart-guard")
	sg := function(t, s, "rampart-securitygroup")
	other := function(t, s, "payload")
	function(t, s, "orders")
	eventRule(t, s, "rampart-self-protection-sweep", guard, ebtypes.RuleStateEnabled)
	eventRule(t, s, "rampart-sg-open-world", sg, ebtypes.RuleStateDisabled)
	eventRule(t, s, "rampart-x", other, ebtypes.RuleStateDisabled)
	eventRule(t, s, "billing", other, ebtypes.RuleStateDisabled)
	zero(t, s, "rampart-guard")
	res := enginetest.Handle(t, newEngine(t, s, ""), enginetest.ScheduledEvent(t, "self-protection"))
	got := map[string]string{}
	for _, d := range res.Decisions {
		got[d.Resource] = string(d.Verdict) + " " + strings.Join(outcomes(d.Actions), ",")
	}
	want := map[string]string{
		"rampart-self-protection-sweep": "compliant ",
		"rampart-sg-open-world":         "violation skipped sns:Publish,applied events:EnableRule",
		"rampart-x":                     "not_applicable ",
		"rampart-guard":                 "violation skipped sns:Publish,applied lambda:DeleteFunctionConcurrency",
		"rampart-securitygroup":         "compliant ",
	}
	if len(got) != len(want) {
		t.Fatalf("decisions = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if st := ruleState(t, s, "rampart-sg-open-world"); st != ebtypes.RuleStateEnabled {
		t.Fatalf("state = %s", st)
	}
	if r := reserved(t, s, "rampart-guard"); r != nil {
		t.Fatalf("reserved = %d", *r)
	}
}
