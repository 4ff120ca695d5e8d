package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/pkg/catalog"
	"github.com/rampart-aws/rampart/pkg/engine"
	"github.com/rampart-aws/rampart/pkg/rule"
)

// The tests below synthesize two apps once each and share the templates:
// every synth starts node through jsii and takes seconds. Expectations come
// from the rules' metadata, never from plan.go, so a rule the stack fails to
// wire fails here.

var regions = []string{"us-east-1", "eu-west-1"}

type synthed struct {
	rules    []rule.Rule
	settings Settings
	stacks   []*RampartStack
	tpl      map[string]assertions.Template // by region
	json     map[string]map[string]any      // by region: the template as JSON
	nagError map[string][]string            // by region: cdk-nag errors
	err      error
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthed{}
)

// synth builds (once per name) an app of one stack per region.
func synth(t *testing.T, name string, rules []rule.Rule, s Settings) *synthed {
	t.Helper()
	synthMu.Lock()
	defer synthMu.Unlock()
	if got, ok := synthCache[name]; ok {
		if got.err != nil {
			t.Fatal(got.err)
		}
		return got
	}
	out := &synthed{rules: rules, tpl: map[string]assertions.Template{}, json: map[string]map[string]any{}, nagError: map[string][]string{}}
	synthCache[name] = out
	dir, err := os.MkdirTemp("", "rampart-infra-test-")
	if err != nil {
		out.err = err
		t.Fatal(err)
	}
	// The directory outlives the test (the others share the synth): TestMain removes it.
	tempDirs = append(tempDirs, dir)
	// Placeholder assets: the real binaries are make build's business.
	s.DistDir = filepath.Join(dir, "dist")
	for _, r := range rules {
		fn := filepath.Join(s.DistDir, r.Meta().Function)
		err := os.MkdirAll(fn, 0o755)
		if err == nil {
			err = os.WriteFile(filepath.Join(fn, "bootstrap"), []byte("placeholder"), 0o755)
		}
		if err != nil {
			out.err = err
			t.Fatal(err)
		}
	}
	out.settings = s
	// The CDK feature flags of cdk.json, so the tests see what cdk synth makes.
	flags := map[string]any{}
	var cdkJSON struct{ Context map[string]any }
	b, err := os.ReadFile("../cdk.json")
	if err == nil {
		err = json.Unmarshal(b, &cdkJSON)
	}
	if err != nil {
		out.err = fmt.Errorf("cdk.json: %w", err)
		t.Fatal(out.err)
	}
	for k, v := range cdkJSON.Context {
		if !strings.HasPrefix(k, "rampart:") {
			flags[k] = v
		}
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "cdk.out")), Context: &flags})
	out.stacks, out.err = NewRampartApp(app, rules, s)
	if out.err != nil {
		t.Fatal(out.err)
	}
	for _, st := range out.stacks {
		region := *st.Region()
		tpl := assertions.Template_FromStack(st.Stack, nil)
		out.tpl[region] = tpl
		out.json[region] = *tpl.ToJSON()
		for _, m := range *assertions.Annotations_FromStack(st.Stack).FindError(jsii.String("*"), assertions.Match_AnyValue()) {
			out.nagError[region] = append(out.nagError[region], fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data)) //nolint:staticcheck // the only ID the assertions API gives in aws-cdk-go 2.276
		}
	}
	return out
}

var tempDirs []string

func TestMain(m *testing.M) {
	quietNode()
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	jsii.Close()
	os.Exit(code)
}

func catalogApp(t *testing.T) *synthed {
	return synth(t, "catalog", catalog.All(), Settings{
		Account: "111122223333", Regions: regions, Mode: engine.Report, ExemptTag: engine.DefaultExemptTag,
		LogRetentionDays: 365, TimeoutSeconds: 60, NotificationEmail: "security@example.com",
		// One role to pass (vpc-flow-logs' delivery role); the others unset.
		Params: map[string]map[string]string{"vpc-flow-logs": {
			"logGroupName": "/rampart/flow-logs", "deliverLogsRoleArn": "arn:aws:iam::111122223333:role/flow-logs-delivery"}},
	})
}

func fakeApp(t *testing.T) *synthed {
	return synth(t, "fake", fakeRules(), Settings{
		Account: "111122223333", Regions: regions, Mode: engine.Enforce, ExemptTag: "team:exempt",
		RuleModes: map[string]engine.Mode{"fake-sg-open": engine.Report},
		Params:    map[string]map[string]string{"fake-sg-open": {"ports": "22,3389"}},
		OwnRoles:  []string{"break-glass"},
		Exemptions: []engine.Exemption{{Rule: "*", Resource: "sg-1", Reason: "lab", Owner: "team@example.com",
			Expires: "2099-01-01"}},
		LogRetentionDays: 30, TimeoutSeconds: 120, MemoryMB: map[string]int{"storage": 256},
	})
}

// apps are the two scenarios every derivation test runs on: the real
// catalog (whatever it holds today) and a fake rule list that exercises
// every kind of trigger whatever the catalog holds.
func apps(t *testing.T) map[string]*synthed {
	return map[string]*synthed{"catalog": catalogApp(t), "fake": fakeApp(t)}
}

// must turns an assertion's panic (the CDK throws) into a test error.
func must(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

func resources(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// functionID is the logical ID of the Lambda function of functions/<name>.
func functionID(t *testing.T, tpl map[string]any, name string) string {
	t.Helper()
	for id, r := range resources(tpl, "AWS::Lambda::Function") {
		if props(r)["FunctionName"] == "rampart-"+name {
			return id
		}
	}
	t.Fatalf("no function rampart-%s", name)
	return ""
}

func getAtt(id string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, "Arn"}}
}

func strs(v []string) *[]any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return &out
}

// deliveredIn reports whether the rule's CloudTrail events reach the region.
func deliveredIn(m *rule.Meta, region string) bool {
	return slices.ContainsFunc(m.CloudTrail, func(c rule.CloudTrailTrigger) bool { return c.DeliveredIn(region) })
}

// sweptIn reports whether the rule's schedule runs in the region: in every
// region, except for global rules (rule.Meta.Global), swept once, in
// us-east-1 if deployed or else in the first region.
func sweptIn(m *rule.Meta, region string) bool {
	if m.Schedule == "" {
		return false
	}
	if !m.Global {
		return true
	}
	home := "us-east-1"
	if !slices.Contains(regions, home) {
		home = regions[0]
	}
	return home == region
}

// hasTriggerIn reports whether anything invokes the rule in the region.
func hasTriggerIn(m *rule.Meta, region string) bool {
	return deliveredIn(m, region) || m.Config != nil || sweptIn(m, region)
}

func TestNoNagErrors(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			if errs := a.nagError[region]; len(errs) > 0 {
				t.Errorf("%s %s: cdk-nag errors:\n%s", name, region, strings.Join(errs, "\n"))
			}
		}
	}
}

func TestEveryRuleHasItsEventPattern(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			tpl, js := a.tpl[region], a.json[region]
			for _, r := range a.rules {
				m := r.Meta()
				for i, ct := range m.CloudTrail {
					ruleName := "rampart-" + m.ID
					if i > 0 {
						ruleName += "-" + strings.TrimSuffix(ct.Source, ".amazonaws.com")
					}
					if !ct.DeliveredIn(region) {
						for _, er := range resources(js, "AWS::Events::Rule") {
							if props(er)["Name"] == ruleName {
								t.Errorf("%s %s: %s is pinned to %s but has an EventBridge rule here", name, region, m.ID, ct.Region)
							}
						}
						continue
					}
					var detailTypes []any
					for _, d := range ct.EventBridgeDetailTypes() {
						detailTypes = append(detailTypes, d)
					}
					fn := functionID(t, js, m.Function)
					must(t, fmt.Sprintf("%s %s: EventBridge rule of %s", name, region, m.ID), func() {
						tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
							"Name":  ruleName,
							"State": "ENABLED",
							"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
								"source":      []any{"aws." + strings.TrimSuffix(ct.Source, ".amazonaws.com")},
								"detail-type": detailTypes,
								"detail": assertions.Match_ObjectEquals(&map[string]any{
									"eventSource": []any{ct.Source},
									"eventName":   assertions.Match_ArrayEquals(strs(ct.Events)),
								}),
							}),
							"Targets": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
								"Arn":              getAtt(fn),
								"DeadLetterConfig": assertions.Match_ObjectLike(&map[string]any{"Arn": assertions.Match_AnyValue()}),
								"RetryPolicy": assertions.Match_ObjectLike(&map[string]any{
									"MaximumRetryAttempts":     assertions.Match_AnyValue(),
									"MaximumEventAgeInSeconds": assertions.Match_AnyValue(),
								}),
							})}),
						})
					})
				}
			}
		}
	}
}

func TestEveryConfigTriggerHasItsConfigRule(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			tpl, js := a.tpl[region], a.json[region]
			for _, r := range a.rules {
				m := r.Meta()
				if m.Config == nil {
					continue
				}
				var details []any
				want := map[string]any{"ConfigRuleName": m.ConfigRuleName()}
				if len(m.Config.ResourceTypes) > 0 {
					details = append(details,
						map[string]any{"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"},
						map[string]any{"EventSource": "aws.config", "MessageType": "OversizedConfigurationItemChangeNotification"})
					want["Scope"] = map[string]any{"ComplianceResourceTypes": assertions.Match_ArrayEquals(strs(m.Config.ResourceTypes))}
				} else {
					want["Scope"] = assertions.Match_Absent()
				}
				if m.Config.Frequency != "" {
					details = append(details, map[string]any{"EventSource": "aws.config", "MessageType": "ScheduledNotification",
						"MaximumExecutionFrequency": m.Config.Frequency})
				}
				want["Source"] = map[string]any{
					"Owner":            "CUSTOM_LAMBDA",
					"SourceIdentifier": getAtt(functionID(t, js, m.Function)),
					"SourceDetails":    assertions.Match_ArrayEquals(&details),
				}
				resolved, err := m.Resolve(a.settings.Params[m.ID])
				if err != nil {
					t.Fatal(err)
				}
				input := map[string]any{}
				for k, v := range resolved {
					if v != "" {
						input[k] = v
					}
				}
				if len(input) > 0 {
					want["InputParameters"] = assertions.Match_ObjectEquals(&input)
				} else {
					want["InputParameters"] = assertions.Match_Absent()
				}
				must(t, fmt.Sprintf("%s %s: Config rule of %s", name, region, m.ID), func() {
					tpl.HasResourceProperties(jsii.String("AWS::Config::ConfigRule"), &want)
				})
			}
			// Config may invoke each function that has Config rules, from this account only.
			fns := map[string]bool{}
			for _, r := range a.rules {
				if r.Meta().Config != nil {
					fns[r.Meta().Function] = true
				}
			}
			for fn := range fns {
				must(t, fmt.Sprintf("%s %s: Config may invoke %s", name, region, fn), func() {
					tpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
						"Principal":     "config.amazonaws.com",
						"FunctionName":  getAtt(functionID(t, js, fn)),
						"SourceAccount": map[string]any{"Ref": "AWS::AccountId"},
					})
				})
			}
		}
	}
}

func TestEverySweepHasItsSchedule(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			for _, r := range a.rules {
				m := r.Meta()
				if m.Schedule == "" {
					continue
				}
				if !sweptIn(m, region) {
					for _, er := range resources(a.json[region], "AWS::Events::Rule") {
						if props(er)["Name"] == "rampart-"+m.ID+"-sweep" {
							t.Errorf("%s %s: %s is global but also swept here", name, region, m.ID)
						}
					}
					continue
				}
				fn := functionID(t, a.json[region], m.Function)
				must(t, fmt.Sprintf("%s %s: sweep of %s", name, region, m.ID), func() {
					a.tpl[region].HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
						"Name":               "rampart-" + m.ID + "-sweep",
						"ScheduleExpression": m.Schedule,
						"Targets":            assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"Arn": getAtt(fn)})}),
					})
				})
			}
		}
	}
}

// TestEveryLogAlarmHasItsFilterAndAlarm: a rule's aggregate alarms count
// its decision records in its function's log group, in every region where
// the function is deployed.
func TestEveryLogAlarmHasItsFilterAndAlarm(t *testing.T) {
	seen := 0
	for name, a := range apps(t) {
		for _, region := range regions {
			for _, r := range a.rules {
				m := r.Meta()
				if len(m.LogAlarms) == 0 || !hasTriggerIn(m, region) {
					continue
				}
				for _, la := range m.LogAlarms {
					seen++
					metric := m.ID + "-" + la.Name
					must(t, fmt.Sprintf("%s %s: metric filter %s", name, region, metric), func() {
						a.tpl[region].HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), &map[string]any{
							"FilterPattern": la.Pattern,
							"MetricTransformations": []any{map[string]any{
								"MetricNamespace": "Rampart", "MetricName": metric, "MetricValue": "1"}},
						})
					})
					must(t, fmt.Sprintf("%s %s: alarm %s", name, region, metric), func() {
						a.tpl[region].HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
							"AlarmName":  "rampart-" + metric,
							"MetricName": metric,
							"Namespace":  "Rampart",
							"Threshold":  la.Threshold,
							"Period":     la.Minutes * 60,
						})
					})
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no rule declares a log alarm: the derivation is untested")
	}
}

// infraActions are the actions every function gets besides its rules':
// notify (SNS, KMS), report to Config, log, trace, dead-letter, notification
// state (DynamoDB; Scan for the digest's function only).
var infraActions = []string{"sns:Publish", "kms:Decrypt", "kms:GenerateDataKey", "config:PutEvaluations",
	"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
	"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan"}

// roleActions gathers the actions of the policies attached to a role.
func roleActions(js map[string]any, roleID string) []string {
	var out []string
	add := func(doc any) {
		d, _ := doc.(map[string]any)
		stmts, _ := d["Statement"].([]any)
		for _, s := range stmts {
			switch a := s.(map[string]any)["Action"].(type) {
			case string:
				out = append(out, a)
			case []any:
				for _, x := range a {
					out = append(out, x.(string))
				}
			}
		}
	}
	for _, p := range resources(js, "AWS::IAM::Policy") {
		for _, ref := range props(p)["Roles"].([]any) {
			if ref.(map[string]any)["Ref"] == roleID {
				add(props(p)["PolicyDocument"])
			}
		}
	}
	if role, ok := resources(js, "AWS::IAM::Role")[roleID]; ok {
		if inline, ok := props(role)["Policies"].([]any); ok {
			for _, p := range inline {
				add(p.(map[string]any)["PolicyDocument"])
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func TestEveryFunctionRoleHoldsExactlyItsRulesActions(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			js := a.json[region]
			want := map[string][]string{} // function → its rules' actions
			deployed := map[string]bool{} // functions with a trigger in the region
			for _, r := range a.rules {
				m := r.Meta()
				want[m.Function] = append(want[m.Function], m.ReadActions...)
				want[m.Function] = append(want[m.Function], m.WriteActions...)
				deployed[m.Function] = deployed[m.Function] || hasTriggerIn(m, region)
			}
			for fn, actions := range want {
				if !deployed[fn] {
					continue
				}
				f := resources(js, "AWS::Lambda::Function")[functionID(t, js, fn)]
				roleID := props(f)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
				role := resources(js, "AWS::IAM::Role")[roleID]
				if got := props(role)["RoleName"]; got != "rampart-"+fn+"-"+region {
					t.Errorf("%s %s: role of %s is named %v", name, region, fn, got)
				}
				if mp := props(role)["ManagedPolicyArns"]; mp != nil {
					t.Errorf("%s %s: role of %s has managed policies %v", name, region, fn, mp)
				}
				got := roleActions(js, roleID)
				for _, act := range actions {
					if !slices.Contains(got, act) {
						t.Errorf("%s %s: role of %s lacks %s", name, region, fn, act)
					}
				}
				for _, act := range got {
					if act == "iam:PassRole" {
						continue // TestPassRoleOnlyOnTheNamedRoles
					}
					if !slices.Contains(actions, act) && !slices.Contains(infraActions, act) {
						t.Errorf("%s %s: role of %s holds %s, which none of its rules declares", name, region, fn, act)
					}
				}
			}
		}
	}
}

// TestPassRoleOnlyOnTheNamedRoles: a function may pass exactly the roles its
// rules' PassRoles parameters name in this deployment, and none when unset.
func TestPassRoleOnlyOnTheNamedRoles(t *testing.T) {
	granted := 0
	for name, a := range apps(t) {
		for _, region := range regions {
			js := a.json[region]
			byFn := map[string][]rule.Rule{}
			for _, r := range a.rules {
				if hasTriggerIn(r.Meta(), region) {
					byFn[r.Meta().Function] = append(byFn[r.Meta().Function], r)
				}
			}
			for fn := range byFn {
				var all []rule.Rule
				for _, r := range a.rules {
					if r.Meta().Function == fn {
						all = append(all, r)
					}
				}
				want, err := passRoles(all, &a.settings)
				if err != nil {
					t.Fatal(err)
				}
				f := resources(js, "AWS::Lambda::Function")[functionID(t, js, fn)]
				roleID := props(f)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
				var got []string
				for _, p := range resources(js, "AWS::IAM::Policy") {
					if props(p)["Roles"].([]any)[0].(map[string]any)["Ref"] != roleID {
						continue
					}
					for _, st := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
						st := st.(map[string]any)
						if !strings.Contains(fmt.Sprint(st["Action"]), "iam:PassRole") {
							continue
						}
						switch r := st["Resource"].(type) {
						case string:
							got = append(got, r)
						case []any:
							for _, x := range r {
								got = append(got, x.(string))
							}
						}
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s %s: %s may pass %v, want %v", name, region, fn, got, want)
				}
				granted += len(got)
			}
		}
	}
	if granted == 0 {
		t.Fatal("no function passes a role: the derivation is untested")
	}
}

// Alerts publish to Rampart's topic only: no role may publish to any topic.
func TestPublishOnlyToTheTopic(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			for id, p := range resources(a.json[region], "AWS::IAM::Policy") {
				for _, st := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					st := st.(map[string]any)
					if strings.Contains(fmt.Sprint(st["Action"]), rule.AlertAPI) && fmt.Sprint(st["Resource"]) == "*" {
						t.Errorf("%s %s: %s grants %s on every topic", name, region, id, rule.AlertAPI)
					}
				}
			}
		}
	}
}

func TestNoWildcardActions(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			js := a.json[region]
			for typ, field := range map[string]string{"AWS::IAM::Policy": "PolicyDocument", "AWS::IAM::ManagedPolicy": "PolicyDocument"} {
				for id, p := range resources(js, typ) {
					wrapped := map[string]any{"Resources": map[string]any{"R": map[string]any{"Type": "AWS::IAM::Policy",
						"Properties": map[string]any{"PolicyDocument": props(p)[field], "Roles": []any{map[string]any{"Ref": "X"}}}}}}
					for _, act := range roleActions(wrapped, "X") {
						if strings.ContainsAny(act, "*?") {
							t.Errorf("%s %s: %s grants the wildcard action %s", name, region, id, act)
						}
					}
				}
			}
			for id, role := range resources(js, "AWS::IAM::Role") {
				for _, act := range roleActions(map[string]any{"Resources": map[string]any{id: role}}, id) {
					if strings.ContainsAny(act, "*?") {
						t.Errorf("%s %s: role %s grants the wildcard action %s", name, region, id, act)
					}
				}
			}
		}
	}
}

func TestEveryFunctionIsArm64WithAFailureDestination(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			tpl, js := a.tpl[region], a.json[region]
			fns := map[string]bool{}
			for _, r := range a.rules {
				if hasTriggerIn(r.Meta(), region) {
					fns[r.Meta().Function] = true
				}
			}
			if got := len(resources(js, "AWS::Lambda::Function")); got != len(fns) {
				t.Errorf("%s %s: %d functions, want %d (%v)", name, region, got, len(fns), fns)
			}
			must(t, fmt.Sprintf("%s %s: all functions", name, region), func() {
				tpl.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), &map[string]any{
					"Architectures": []any{"arm64"},
					"Runtime":       "provided.al2023",
					"Handler":       "bootstrap",
					"TracingConfig": map[string]any{"Mode": "Active"},
					"LoggingConfig": assertions.Match_ObjectLike(&map[string]any{"LogFormat": "JSON", "LogGroup": assertions.Match_AnyValue()}),
				})
			})
			for fn := range fns {
				id := functionID(t, js, fn)
				must(t, fmt.Sprintf("%s %s: failure destination of %s", name, region, fn), func() {
					tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), &map[string]any{
						"FunctionName":      map[string]any{"Ref": id},
						"DestinationConfig": map[string]any{"OnFailure": map[string]any{"Destination": assertions.Match_AnyValue()}},
					})
				})
				mem := 128.0
				if mb, ok := a.settings.MemoryMB[fn]; ok {
					mem = float64(mb)
				}
				if got := props(resources(js, "AWS::Lambda::Function")[id])["MemorySize"]; got != mem {
					t.Errorf("%s %s: %s has %v MB, want %v", name, region, fn, got, mem)
				}
				// An alarm on its errors and one on its dead-letter depth, both to the topic.
				for _, metric := range []string{"Errors", "ApproximateNumberOfMessagesVisible"} {
					must(t, fmt.Sprintf("%s %s: %s alarm of %s", name, region, metric, fn), func() {
						tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
							"AlarmName":    assertions.Match_StringLikeRegexp(jsii.String("^rampart-" + fn + "-")),
							"MetricName":   metric,
							"AlarmActions": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^Notifications"))}},
						})
					})
				}
			}
		}
	}
}

func TestFunctionEnvironment(t *testing.T) {
	for name, a := range apps(t) {
		var roles []string
		for _, region := range regions {
			seen := map[string]bool{}
			for _, r := range a.rules {
				if m := r.Meta(); hasTriggerIn(m, region) && !seen[m.Function] {
					seen[m.Function] = true
					roles = append(roles, "rampart-"+m.Function+"-"+region)
				}
			}
		}
		roles = append(roles, a.settings.OwnRoles...)
		for _, region := range regions {
			for id, f := range resources(a.json[region], "AWS::Lambda::Function") {
				env := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
				own := strings.Split(env[engine.EnvOwnRoles].(string), ",")
				for _, r := range roles {
					if !slices.Contains(own, r) {
						t.Errorf("%s %s: %s: %s lacks %s", name, region, id, engine.EnvOwnRoles, r)
					}
				}
				if env[engine.EnvMode] != string(a.settings.Mode) || env[engine.EnvExemptTag] != a.settings.ExemptTag {
					t.Errorf("%s %s: %s: env %v", name, region, id, env)
				}
				if topic, ok := env[engine.EnvTopicARN].(map[string]any); !ok || !strings.HasPrefix(fmt.Sprint(topic["Ref"]), "Notifications") {
					t.Errorf("%s %s: %s: %s = %v, want the topic", name, region, id, engine.EnvTopicARN, env[engine.EnvTopicARN])
				}
			}
		}
	}
	// Settings reach the function of the rule they name, and only it.
	js := fakeApp(t).json["us-east-1"]
	network := props(resources(js, "AWS::Lambda::Function")[functionID(t, js, "network")])
	env := network["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env[engine.EnvRuleModes] != "fake-sg-open=report" || env[engine.EnvParams] != `{"fake-sg-open":{"ports":"22,3389"}}` ||
		!strings.Contains(fmt.Sprint(env[engine.EnvExemptions]), `"resource":"sg-1"`) {
		t.Errorf("network env = %v", env)
	}
	storage := props(resources(js, "AWS::Lambda::Function")[functionID(t, js, "storage")])
	env = storage["Environment"].(map[string]any)["Variables"].(map[string]any)
	if _, ok := env[engine.EnvRuleModes]; ok {
		t.Errorf("storage got another function's rule modes: %v", env)
	}
}

func TestEncryptedTopicAndQueues(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			tpl, js := a.tpl[region], a.json[region]
			must(t, fmt.Sprintf("%s %s: topic", name, region), func() {
				tpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), &map[string]any{
					"TopicName":      "rampart-notifications",
					"KmsMasterKeyId": assertions.Match_AnyValue(),
				})
				tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), &map[string]any{"EnableKeyRotation": true})
				tpl.AllResourcesProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{"SqsManagedSseEnabled": true})
				// TLS only, for the topic and every queue.
				deny := assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				})})
				tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), &map[string]any{
					"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": deny})})
				tpl.AllResourcesProperties(jsii.String("AWS::SQS::QueuePolicy"), &map[string]any{
					"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": deny})})
			})
			subs := len(resources(js, "AWS::SNS::Subscription"))
			if want := map[bool]int{true: 1, false: 0}[a.settings.NotificationEmail != ""]; subs != want {
				t.Errorf("%s %s: %d subscriptions, want %d", name, region, subs, want)
			}
		}
	}
}
