package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// The guard function, built and run under the Lambda RIE against moto,
// answers the two attacks it can undo: a Rampart EventBridge rule disabled
// (enabled again) and a Rampart function throttled to zero (reservation
// removed). Each is alerted through the topic, and a replay changes
// nothing more.
func TestGuardRestoresRampart(t *testing.T) {
	s := mototest.Session(t)
	topic := mototest.NewTopic(t, s, "rampart-alerts")
	fnARN := guardFixtureFunction(t, s, "rampart-securitygroup")
	events := awsclient.Client(s, eventbridge.NewFromConfig)
	if _, err := events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("rampart-x"), State: ebtypes.RuleStateDisabled,
		EventPattern: aws.String(`{"source":["aws.ec2"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("rampart-x"),
		Targets: []ebtypes.Target{{Id: aws.String("Target0"), Arn: aws.String(fnARN)}}}); err != nil {
		t.Fatal(err)
	}
	fns := awsclient.Client(s, lambda.NewFromConfig)
	if _, err := fns.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("rampart-securitygroup"),
		ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}

	f := deploy(t, "guard", lambdatest.Deployment{Mode: engine.Enforce, TopicARN: topic.ARN})
	disable := enginetest.Sample(t, "events/cloudtrail/events-disable-rule-rampart.json", "rampart-sg-open-world", "rampart-x")
	throttle := enginetest.Sample(t, "events/cloudtrail/lambda-put-function-concurrency-zero.json")
	for _, c := range []struct {
		payload []byte
		want    []string
	}{
		{disable, []string{"applied sns:Publish", "applied events:EnableRule"}},
		{throttle, []string{"applied sns:Publish", "applied lambda:DeleteFunctionConcurrency"}},
	} {
		ds := succeed(t, f, c.payload)
		if len(ds) != 1 || ds[0].Rule != "self-protection" || ds[0].Verdict != rule.Violation || !slices.Equal(enginetest.Outcomes(ds[0].Actions), c.want) {
			t.Fatalf("decisions = %+v", ds)
		}
	}
	rs, err := events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("rampart-x")})
	if err != nil || rs.State != ebtypes.RuleStateEnabled {
		t.Fatalf("rule rampart-x = %+v, %v", rs, err)
	}
	conc, err := fns.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("rampart-securitygroup")})
	if err != nil || conc.ReservedConcurrentExecutions != nil {
		t.Fatalf("concurrency = %+v, %v", conc, err)
	}
	n := topic.Received(t)
	if len(n) != 2 || !strings.Contains(n[0].Message, "disabled Rampart's EventBridge rule rampart-x") ||
		!strings.Contains(n[1].Message, "reserved concurrency on Rampart's function rampart-securitygroup") {
		t.Fatalf("notifications = %+v", n)
	}
	// Replays alert again but find nothing left to restore.
	calls := record(t, func() {
		for _, p := range [][]byte{disable, throttle} {
			ds := succeed(t, f, p)
			if got := enginetest.Outcomes(ds[0].Actions); !slices.Equal(got, []string{"applied sns:Publish"}) {
				t.Errorf("replay = %v (%s)", got, ds[0].Reason)
			}
		}
	})
	if c := changes(calls); len(c) > 0 {
		t.Fatalf("a replay changed %v", c)
	}
}

// guardFixtureFunction creates a Lambda function in moto (no code is run)
// and returns its ARN.
func guardFixtureFunction(t *testing.T, s *awsclient.Session, name string) string {
	t.Helper()
	role, err := awsclient.Client(s, iam.NewFromConfig).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	empty := []byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	out, err := awsclient.Client(s, lambda.NewFromConfig).CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name),
		Role: role.Role.Arn, Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: empty}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.FunctionArn)
}

// A malformed RAMPART_DEPLOYER_ARNS fails the guard's cold start, and the
// logs say which setting.
func TestGuardWithBadDeployersFailsItsColdStart(t *testing.T) {
	mototest.Shared(t)
	f := deploy(t, "guard", lambdatest.Deployment{Mode: engine.Enforce}, map[string]string{"RAMPART_DEPLOYER_ARNS": "cdk-deploy-role"})
	inv, _ := invoke(t, f, []byte(`{}`))
	if !inv.FunctionError {
		t.Fatalf("the guard started: %s", inv.Body)
	}
	if !f.WaitLogs("RAMPART_DEPLOYER_ARNS", 5*time.Second) {
		t.Fatalf("the logs do not say what is wrong:\n%s", f.Logs())
	}
}
