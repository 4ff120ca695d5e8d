package selfprotection

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func matches(call *trigger.APICall) bool { return meta.MatchesCall(trigger.DetailAPICall, call) }

// bind binds the rule with the environment as it is now: the deployers
// and the topic are read when the rule is bound.
func bind(t *testing.T) *rule.Bound {
	t.Helper()
	b, err := rule.BindWith(Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every sample names the Rampart resource it concerns, and an offline plan
// alerts on it and restores only what can be restored.
func TestSamples(t *testing.T) {
	t.Setenv(EnvDeployerARNs, "")
	t.Setenv(EnvTopicARN, "")
	cases := []struct {
		file, typ, id string
		plan          []string
	}{
		{"events-disable-rule-rampart.json", typeEventRule, "rampart-sg-open-world", []string{rule.AlertAPI, apiEnableRule}},
		{"events-put-rule-rampart-disabled.json", typeEventRule, "rampart-sg-open-world", []string{rule.AlertAPI, apiEnableRule}},
		{"events-delete-rule-rampart.json", typeEventRule, "rampart-trail-enabled", []string{rule.AlertAPI}},
		{"events-remove-targets-rampart.json", typeEventRule, "rampart-config-tampering", []string{rule.AlertAPI}},
		{"events-put-targets-rampart.json", typeEventRule, "rampart-config-tampering", []string{rule.AlertAPI}},
		{"events-put-rule-by-deployer.json", typeEventRule, "rampart-sg-open-world", nil},
		{"lambda-put-function-concurrency-zero.json", typeFunction, "rampart-securitygroup", []string{rule.AlertAPI, apiDeleteConcurrency}},
		{"lambda-delete-function-rampart.json", typeFunction, "rampart-guard", []string{rule.AlertAPI}},
		{"lambda-update-function-code-rampart.json", typeFunction, "rampart-cloudtrail", []string{rule.AlertAPI}},
		{"lambda-update-function-configuration-rampart.json", typeFunction, "rampart-config", []string{rule.AlertAPI}},
		{"lambda-remove-permission-rampart.json", typeFunction, "rampart-config", []string{rule.AlertAPI}},
		{"config-delete-config-rule-rampart.json", typeConfigRule, "rampart-sg-open-world", []string{rule.AlertAPI}},
		{"sns-unsubscribe-rampart.json", typeTopic, "arn:aws:sns:us-east-1:123456789012:rampart-notifications", []string{rule.AlertAPI}},
		{"sns-set-subscription-attributes-rampart.json", typeTopic, "arn:aws:sns:us-east-1:123456789012:rampart-notifications", []string{rule.AlertAPI}},
		{"sns-delete-topic-rampart.json", typeTopic, "arn:aws:sns:us-east-1:123456789012:rampart-notifications", []string{rule.AlertAPI}},
		{"sns-set-topic-attributes-rampart.json", typeTopic, "arn:aws:sns:us-east-1:123456789012:rampart-notifications", []string{rule.AlertAPI}},
		{"cloudformation-delete-stack-rampart.json", typeStack, "rampart-us-east-1", []string{rule.AlertAPI}},
		{"cloudformation-update-stack-rampart.json", typeStack, "rampart-us-east-1", []string{rule.AlertAPI}},
		{"cloudformation-create-change-set-rampart.json", typeStack, "rampart-us-east-1", []string{rule.AlertAPI}},
		{"cloudformation-execute-change-set-rampart.json", typeStack, "rampart-us-east-1", []string{rule.AlertAPI}},
		{"cloudformation-execute-change-set-by-deployer.json", typeStack, "rampart-us-east-1", nil},
		{"cloudformation-update-termination-protection-rampart.json", typeStack, "rampart-us-east-1", []string{rule.AlertAPI}},
		{"cloudformation-set-stack-policy-rampart.json", typeStack, "rampart-us-east-1", []string{rule.AlertAPI}},
		// DeleteAlarms names a foreign alarm too: only Rampart's is a target.
		{"cloudwatch-delete-alarms-rampart.json", typeAlarm, "rampart-self-protection-heartbeat", []string{rule.AlertAPI}},
		{"cloudwatch-disable-alarm-actions-rampart.json", typeAlarm, "rampart-guard-errors", []string{rule.AlertAPI}},
		{"cloudwatch-put-metric-alarm-rampart.json", typeAlarm, "rampart-config-tampering-heartbeat", []string{rule.AlertAPI}},
	}
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	b := bind(t)
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			call := enginetest.Call(t, "events/cloudtrail/"+c.file)
			if !matches(call) {
				t.Fatal("no trigger matches")
			}
			ts, err := b.Targets(call)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != 1 || ts[0].Type != c.typ || ts[0].ID != c.id || ts[0].Region != "us-east-1" {
				t.Fatalf("targets = %+v", ts)
			}
			ts[0].Call = call
			f, err := b.Evaluate(context.Background(), env, ts[0])
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range f.Actions {
				got = append(got, a.API)
				if a.API != rule.AlertAPI && (a.Undo == nil || a.Undo.Undo != nil) {
					t.Errorf("%s has no single undo", a.API)
				}
			}
			if !slices.Equal(got, c.plan) {
				t.Fatalf("plan = %v, want %v (%s)", got, c.plan, f.Reason)
			}
			if c.plan == nil {
				if f.Verdict != rule.Compliant || !strings.Contains(f.Reason, "deploying principal arn:aws:iam::123456789012:role/cdk-hnb659fds-") {
					t.Fatalf("finding = %+v", f)
				}
				return
			}
			if f.Verdict != rule.Violation || !strings.Contains(f.Reason, call.Actor.ARN) || !strings.Contains(f.Reason, c.id) {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
}

// Resources that only look like Rampart's, or are not named "rampart-",
// are not targets.
func TestNotRampartsResources(t *testing.T) {
	t.Setenv(EnvTopicARN, "")
	b := bind(t)
	for file, req := range map[string]string{
		"events-disable-rule-rampart.json":               `{"name": "billing-nightly"}`,
		"events-remove-targets-rampart.json":             `{"rule": "rampart-x", "eventBusName": "attacker-bus", "ids": ["1"]}`,
		"lambda-put-function-concurrency-zero.json":      `{"functionName": "arn:aws:lambda:us-east-1:123456789012:function:orders:prod", "reservedConcurrentExecutions": 0}`,
		"config-delete-config-rule-rampart.json":         `{"configRuleName": "securityhub-s3-1"}`,
		"sns-delete-topic-rampart.json":                  `{"topicArn": "arn:aws:sns:us-east-1:123456789012:rampart-notifications-old"}`,
		"sns-unsubscribe-rampart.json":                   `{"subscriptionArn": "arn:aws:sns:us-east-1:123456789012:orders:3f0c7a52-9d1e-4b8a-a6c3-5e2f8b1d7a90"}`,
		"cloudformation-delete-stack-rampart.json":       `{"stackName": "arn:aws:cloudformation:us-east-1:123456789012:stack/orders-api/8e2f4c10"}`,
		"cloudformation-execute-change-set-rampart.json": `{"changeSetName": "arn:aws:cloudformation:us-east-1:123456789012:changeSet/x/1"}`,
		"cloudwatch-delete-alarms-rampart.json":          `{"alarmNames": ["orders-api-5xx", "billing"]}`,
	} {
		call := enginetest.Call(t, "events/cloudtrail/"+file)
		call.Request = []byte(req)
		if ts, err := b.Targets(call); ts != nil || err != nil {
			t.Errorf("%s %s: %+v, %v", file, req, ts, err)
		}
	}
	// A custom topic ARN replaces the default name.
	t.Setenv(EnvTopicARN, "arn:aws:sns:us-east-1:123456789012:ops-alerts")
	b = bind(t)
	call := enginetest.Call(t, "events/cloudtrail/sns-delete-topic-rampart.json")
	if ts, _ := b.Targets(call); ts != nil {
		t.Errorf("the default topic is judged though RAMPART_TOPIC_ARN names another: %+v", ts)
	}
	call.Request = []byte(`{"topicArn": "arn:aws:sns:us-east-1:123456789012:ops-alerts"}`)
	if ts, _ := b.Targets(call); len(ts) != 1 {
		t.Errorf("the configured topic is not judged")
	}
}

func TestFunctionNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"rampart-guard": "rampart-guard", "rampart-guard:prod": "rampart-guard",
		"123456789012:function:rampart-guard":                            "rampart-guard",
		"arn:aws:lambda:us-east-1:123456789012:function:rampart-guard":   "rampart-guard",
		"arn:aws:lambda:us-east-1:123456789012:function:rampart-guard:7": "rampart-guard",
	} {
		if got, err := functionName(in); err != nil || got != want {
			t.Errorf("%s: %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"123456789012:function:", "a:b:c"} {
		if got, err := functionName(bad); err == nil {
			t.Errorf("%s: accepted as %q", bad, got)
		}
	}
}

func TestTargetsRejectsMalformed(t *testing.T) {
	t.Setenv(EnvTopicARN, "")
	b := bind(t)
	for file, req := range map[string]string{
		"events-disable-rule-rampart.json":          `{}`,
		"events-put-targets-rampart.json":           `{"name": "rampart-x"}`,
		"lambda-delete-function-rampart.json":       `{"functionName": 7}`,
		"lambda-put-function-concurrency-zero.json": `{"functionName": "rampart-guard"}`,
		"config-delete-config-rule-rampart.json":    `[]`,
		"sns-unsubscribe-rampart.json":              `{"subscriptionArn": "not-an-arn"}`,
		"sns-delete-topic-rampart.json":             `null`,
		"cloudformation-delete-stack-rampart.json":  `{}`,
		"cloudwatch-delete-alarms-rampart.json":     `{"alarmNames": []}`,
		"cloudwatch-put-metric-alarm-rampart.json":  `{"alarmNames": ["rampart-x"]}`,
	} {
		call := enginetest.Call(t, "events/cloudtrail/"+file)
		call.Request = []byte(req)
		if _, err := b.Targets(call); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s %s: err = %v, want ErrInput", file, req, err)
		}
	}
}

// The deploying principals are matched by the session issuer's full ARN:
// a role of the same name in another account, a user named like the role,
// or a bad RAMPART_DEPLOYER_ARNS (which fails binding the rule, at cold
// start) do not pass.
func TestDeployers(t *testing.T) {
	t.Setenv(EnvTopicARN, "")
	call := enginetest.Call(t, "events/cloudtrail/events-put-rule-by-deployer.json")
	ts, err := bind(t).Targets(call)
	if err != nil {
		t.Fatal(err)
	}
	ts[0].Call = call
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	verdict := func() (rule.Verdict, error) {
		b, err := rule.BindWith(Rule, nil)
		if err != nil {
			return "", err
		}
		f, err := b.Evaluate(context.Background(), env, ts[0])
		return f.Verdict, err
	}
	t.Setenv(EnvDeployerARNs, "")
	if v, err := verdict(); v != rule.Compliant || err != nil {
		t.Fatalf("default deployers: %s, %v", v, err)
	}
	t.Setenv(EnvDeployerARNs, "arn:aws:iam::123456789012:role/pipeline-deploy")
	if v, _ := verdict(); v != rule.Violation {
		t.Fatalf("the CDK role is still a deployer when the list replaces it: %s", v)
	}
	t.Setenv(EnvDeployerARNs, " arn:aws:iam::123456789012:role/pipeline-deploy , arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1")
	if v, _ := verdict(); v != rule.Compliant {
		t.Fatalf("listed role: %s", v)
	}
	t.Setenv(EnvDeployerARNs, "arn:aws:iam::210987654321:role/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1")
	if v, _ := verdict(); v != rule.Violation {
		t.Fatalf("a same-named role of another account passed: %s", v)
	}
	for _, bad := range []string{"cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1", "arn:aws:iam::123456789012:user/deployer", ","} {
		t.Setenv(EnvDeployerARNs, bad)
		if _, err := verdict(); err == nil || !strings.Contains(err.Error(), EnvDeployerARNs) {
			t.Fatalf("%q: err = %v", bad, err)
		}
	}
	// An IAM user whose name is a deployer role's is not a deployer.
	t.Setenv(EnvDeployerARNs, "")
	call.Actor = trigger.Actor{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1",
		IssuerARN: "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role-123456789012-us-east-1"}
	if v, _ := verdict(); v != rule.Violation {
		t.Fatalf("an IAM user passed: %s", v)
	}
}

func TestApplyRefusesOthersResources(t *testing.T) {
	t.Parallel()
	env := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	for _, a := range []rule.Action{
		rule.NewAction(apiEnableRule, "billing", "", ruleParams{Name: "billing"}, nil),
		rule.NewAction(apiDeleteConcurrency, "orders", "", functionParams{Name: "orders"}, nil),
		rule.NewAction(apiPutConcurrency, "rampart-x", "", functionParams{Name: "rampart-x"}, nil),
		rule.NewAction("events:DeleteRule", "rampart-x", "", ruleParams{Name: "rampart-x"}, nil),
	} {
		if err := apply(context.Background(), env, a); err == nil {
			t.Errorf("%s %s applied", a.API, a.Target)
		}
	}
}

// TestBindRejectsMalformedDeployers: a malformed RAMPART_DEPLOYER_ARNS
// fails Bind, which the engine does at cold start: the function stops
// before it handles anything.
func TestBindRejectsMalformedDeployers(t *testing.T) {
	for _, v := range []string{"arn:aws:iam::123456789012:role/deploy", "deploy-role", "arn:aws:iam::123456789012:user/u", "", "x,y"} {
		t.Setenv(EnvDeployerARNs, v)
		_, err := rule.BindWith(Rule, nil)
		ok := v == "" || strings.HasPrefix(v, "arn:aws:iam::123456789012:role/")
		if (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
}

// TestJudge: the judgement over states — what a call did, or what the
// sweep listed, and what the reads found — with no AWS.
func TestJudge(t *testing.T) {
	t.Parallel()
	const acct, region = "123456789012", "us-east-1"
	cdkExec := "arn:aws:iam::" + acct + ":role/cdk-hnb659fds-cfn-exec-role-" + acct + "-" + region
	bob := &trigger.APICall{Region: region, Account: acct, Actor: trigger.Actor{Type: "IAMUser", ARN: "arn:aws:iam::" + acct + ":user/bob"}}
	cfn := &trigger.APICall{Region: region, Account: acct, Actor: trigger.Actor{Type: "AssumedRole", ARN: "arn:aws:sts::" + acct + ":assumed-role/x/y", IssuerARN: cdkExec}}
	zero, two := int32(0), int32(2)
	disable := &evidence{Event: "DisableRule", Disables: true}
	zeroed := &evidence{Event: "PutFunctionConcurrency20171031", ZeroConcurrency: true}
	for _, tc := range []struct {
		name    string
		r       resource
		typ     string
		call    *trigger.APICall
		p       params
		verdict rule.Verdict
		plan    []string
		reason  string
	}{
		{"the deployer's call", resource{Call: disable}, typeEventRule, cfn, params{}, rule.Compliant, nil, "made by the deploying principal " + cdkExec},
		{"a custom list replaces the CDK roles", resource{Call: &evidence{Event: "UpdateStack"}}, typeStack, cfn,
			params{Deployers: []string{"arn:aws:iam::" + acct + ":role/pipeline"}}, rule.Violation, []string{rule.AlertAPI}, "updated Rampart's stack"},
		{"disabled, targets Rampart", resource{Call: disable, Rule: &ruleState{State: "DISABLED", TargetsRampart: true}}, typeEventRule, bob, params{},
			rule.Violation, []string{rule.AlertAPI, apiEnableRule}, "user/bob disabled Rampart's EventBridge rule rampart-x (DisableRule); re-enabled"},
		{"disabled, a look-alike", resource{Call: disable, Rule: &ruleState{State: "DISABLED"}}, typeEventRule, bob, params{},
			rule.Violation, []string{rule.AlertAPI}, "not re-enabled: the rule targets no Rampart function"},
		{"disabled, enabled again since", resource{Call: disable, Rule: &ruleState{State: "ENABLED"}}, typeEventRule, bob, params{},
			rule.Violation, []string{rule.AlertAPI}, "the rule is ENABLED again"},
		{"disabled, then deleted", resource{Call: disable, Rule: &ruleState{Gone: true}}, typeEventRule, bob, params{},
			rule.Violation, []string{rule.AlertAPI}, "the rule is gone"},
		{"disabled, offline", resource{Call: disable, Rule: &ruleState{Implied: true}}, typeEventRule, bob, params{},
			rule.Violation, []string{rule.AlertAPI, apiEnableRule}, "as the event implies it is disabled"},
		{"zero concurrency", resource{Call: zeroed, Concurrency: &concurrency{Reserved: &zero}}, typeFunction, bob, params{},
			rule.Violation, []string{rule.AlertAPI, apiDeleteConcurrency}, "concurrency reservation removed"},
		{"zero concurrency, raised since", resource{Call: zeroed, Concurrency: &concurrency{Reserved: &two}}, typeFunction, bob, params{},
			rule.Violation, []string{rule.AlertAPI}, "no longer at zero concurrency"},
		{"zero concurrency, function gone", resource{Call: zeroed, Concurrency: &concurrency{Gone: true}}, typeFunction, bob, params{},
			rule.Violation, []string{rule.AlertAPI}, "the function is gone"},
		{"nothing restorable", resource{Call: &evidence{Event: "DeleteTopic"}}, typeTopic, bob, params{},
			rule.Violation, []string{rule.AlertAPI}, "cannot be put back exactly from the event"},
		{"no call", resource{}, typeEventRule, nil, params{}, rule.NotApplicable, nil, "no call names a Rampart resource"},
		{"swept, enabled", resource{Swept: true, Listed: "ENABLED"}, typeEventRule, nil, params{}, rule.Compliant, nil, "rampart-x is ENABLED"},
		{"swept, disabled", resource{Swept: true, Listed: "DISABLED", Rule: &ruleState{State: "DISABLED", TargetsRampart: true}}, typeEventRule, nil, params{},
			rule.Violation, []string{rule.AlertAPI, apiEnableRule}, "is disabled (found by the sweep); re-enabled"},
		{"swept, disabled look-alike", resource{Swept: true, Listed: "DISABLED", Rule: &ruleState{State: "DISABLED"}}, typeEventRule, nil, params{},
			rule.NotApplicable, nil, "is disabled; not re-enabled"},
		{"swept, enabled since", resource{Swept: true, Listed: "DISABLED", Rule: &ruleState{State: "ENABLED"}}, typeEventRule, nil, params{},
			rule.Compliant, nil, "is in service"},
		{"swept function at zero", resource{Swept: true, Concurrency: &concurrency{Reserved: &zero}}, typeFunction, nil, params{},
			rule.Violation, []string{rule.AlertAPI, apiDeleteConcurrency}, "has zero reserved concurrency"},
		{"swept function", resource{Swept: true, Concurrency: &concurrency{}}, typeFunction, nil, params{}, rule.Compliant, nil, "is in service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := judge(tc.r, rule.Target{Type: tc.typ, ID: "rampart-x", Region: region, Call: tc.call}, tc.p, rule.Facts{})
			var got []string
			for _, a := range f.Actions {
				got = append(got, a.API)
				if a.Target != "rampart-x" {
					t.Errorf("%s targets %s", a.API, a.Target)
				}
			}
			if f.Verdict != tc.verdict || !slices.Equal(got, tc.plan) || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("finding = %s %v %q, want %s %v …%q…", f.Verdict, got, f.Reason, tc.verdict, tc.plan, tc.reason)
			}
		})
	}
}
