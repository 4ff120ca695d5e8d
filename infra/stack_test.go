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

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// The tests below synthesize two apps once each and share the templates:
// every synth starts node through jsii and takes seconds. Expectations come
// from the rules' metadata, never from plan.go, so a rule the stack fails to
// wire fails here.

// regions are the home region and one other: representative of "all"
// (every non-home region is alike), and a full synth of all of them is
// TestAllRegionsSynth's.
var regions = []string{"us-east-1", "eu-west-1"}

const home = "us-east-1"

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
	// The settings as the app deploys them (rampart:trailLogGroup sets
	// cis-alarms' parameters): what the expectations derive from.
	if out.settings, out.err = s.withTrailLogGroup(rules); out.err != nil {
		t.Fatal(out.err)
	}
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
		Account: "111122223333", Regions: regions, HomeRegion: home, Mode: engine.Report, ExemptTag: engine.DefaultExemptTag,
		LogRetentionDays: 365, TimeoutSeconds: 60, NotificationEmail: "security@example.com",
		// One role to pass (vpc-flow-logs' delivery role); the others unset.
		Params: map[string]map[string]string{"vpc-flow-logs": {
			"logGroupName": "/rampart/flow-logs", "deliverLogsRoleArn": "arn:aws:iam::111122223333:role/flow-logs-delivery"}},
		// The CIS monitoring alarms on (the organization app has them off).
		TrailLogGroup: "aws-cloudtrail-logs-111122223333",
	})
}

func fakeApp(t *testing.T) *synthed {
	return synth(t, "fake", fakeRules(), Settings{
		Account: "111122223333", Regions: regions, HomeRegion: home, Mode: engine.Enforce, ExemptTag: "team:exempt",
		RuleModes: map[string]engine.Mode{"fake-sg-open": engine.Report},
		Params:    map[string]map[string]string{"fake-sg-open": {"ports": "22,3389"}},
		OwnRoles:  []string{"arn:aws:iam::111122223333:role/break-glass"},
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

// wiredIn reports whether one of the rule's CloudTrail triggers is wired in
// the region: a regional trigger everywhere, a global one (a global rule's,
// or one pinned to a region) in the home region, to which the others
// forward it.
func wiredIn(m *rule.Meta, region string) bool {
	return slices.ContainsFunc(m.CloudTrail, func(c rule.CloudTrailTrigger) bool { return !isGlobal(m, &c) || region == home })
}

func isGlobal(m *rule.Meta, c *rule.CloudTrailTrigger) bool { return m.Global || c.Region != "" }

// sweptIn reports whether the rule's schedule runs in the region: in every
// region, except for global rules (rule.Meta.Global), swept once, in the
// home region.
func sweptIn(m *rule.Meta, region string) bool {
	return m.Schedule != "" && (!m.Global || region == home)
}

// configIn reports whether the rule's Config rule is in the region.
func configIn(m *rule.Meta, region string) bool {
	return m.Config != nil && (!m.Global || region == home)
}

// hasTriggerIn reports whether anything invokes the rule in the region.
func hasTriggerIn(m *rule.Meta, region string) bool {
	return wiredIn(m, region) || configIn(m, region) || sweptIn(m, region) || eventsIn(m, region)
}

// eventsIn reports whether one of the rule's service events is wired in the
// region: in every region, except a global rule's or a region-pinned
// trigger's, judged in the home region.
func eventsIn(m *rule.Meta, region string) bool {
	return slices.ContainsFunc(m.Events, func(e rule.EventTrigger) bool { return !globalService(m, &e) || region == home })
}

// homeRoleID is the logical ID, in the home template, of a function's role.
func homeRoleID(t *testing.T, a *synthed, fn string) string {
	t.Helper()
	for id, r := range resources(a.json[home], "AWS::IAM::Role") {
		if props(r)["RoleName"] == "rampart-"+fn {
			return id
		}
	}
	t.Fatalf("no role rampart-%s in the home region", fn)
	return ""
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

// TestEveryRuleHasItsEventPattern: each function has one EventBridge rule
// per service whose events it takes in the region, carrying the union of its
// rules' event names, failed API calls filtered out; global events only in
// the home region, and forwarded there from the others.
func TestEveryRuleHasItsEventPattern(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			tpl, js := a.tpl[region], a.json[region]
			type key struct{ fn, source, detail string }
			union := map[key][]string{}
			forward := map[string][]string{}
			for _, r := range a.rules {
				m := r.Meta()
				for _, ct := range m.CloudTrail {
					if isGlobal(m, &ct) && region != home {
						forward[ct.Source] = append(forward[ct.Source], ct.Events...)
						continue
					}
					k := key{m.Function, ct.Source, ct.EventBridgeDetailType()}
					union[k] = append(union[k], ct.Events...)
				}
			}
			services := map[string]*rule.EventTrigger{} // by the rule name
			for _, r := range a.rules {
				m := r.Meta()
				for i := range m.Events {
					if e := &m.Events[i]; !globalService(m, e) || region == home {
						services[serviceRuleName(m.Function, e)] = e
					}
				}
			}
			for rn, e := range services {
				must(t, fmt.Sprintf("%s %s: EventBridge rule %s", name, region, rn), func() {
					tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
						"Name": rn, "State": "ENABLED",
						"EventPattern": assertions.Match_ObjectLike(&map[string]any{
							"source": []any{e.Source}, "detail-type": []any{e.DetailType},
						}),
					})
				})
			}
			count := -len(services)
			for _, er := range resources(js, "AWS::Events::Rule") {
				if p := props(er); p["EventPattern"] != nil && strings.HasPrefix(fmt.Sprint(p["Name"]), "rampart-") &&
					!strings.HasPrefix(fmt.Sprint(p["Name"]), "rampart-forward-") && !strings.Contains(fmt.Sprint(p["Name"]), "alarm") {
					count++
				}
			}
			if count != len(union) {
				t.Errorf("%s %s: %d event rules, want one per function and service: %d", name, region, count, len(union))
			}
			for k, events := range union {
				slices.Sort(events)
				events = slices.Compact(events)
				ct := rule.CloudTrailTrigger{Source: k.source, DetailType: k.detail}
				var detailTypes []any
				for _, d := range ct.EventBridgeDetailTypes() {
					detailTypes = append(detailTypes, d)
				}
				detail := map[string]any{
					"eventSource": []any{k.source},
					"eventName":   assertions.Match_ArrayEquals(strs(events)),
				}
				if k.detail == trigger.DetailAPICall {
					detail["errorCode"] = []any{map[string]any{"exists": false}}
				}
				fn := functionID(t, js, k.fn)
				must(t, fmt.Sprintf("%s %s: EventBridge rule of %s for %s", name, region, k.fn, k.source), func() {
					tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
						"Name":  "rampart-" + k.fn + "-" + strings.TrimSuffix(k.source, ".amazonaws.com"),
						"State": "ENABLED",
						"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
							"source":      []any{"aws." + ebService(k.source)},
							"detail-type": detailTypes,
							"detail":      assertions.Match_ObjectEquals(&detail),
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
			// The other regions forward the global events to the home bus.
			for source, events := range forward {
				slices.Sort(events)
				must(t, fmt.Sprintf("%s %s: forwarding of %s", name, region, source), func() {
					tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
						"Name": "rampart-forward-" + strings.TrimSuffix(source, ".amazonaws.com"),
						"EventPattern": assertions.Match_ObjectLike(&map[string]any{
							"detail": assertions.Match_ObjectLike(&map[string]any{"eventName": assertions.Match_ArrayEquals(strs(slices.Compact(events)))}),
						}),
						"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
							"Arn":              "arn:aws:events:" + home + ":111122223333:event-bus/default",
							"RoleArn":          assertions.Match_AnyValue(),
							"DeadLetterConfig": assertions.Match_AnyValue(),
						})},
					})
				})
			}
			if region == home && len(resources(js, "AWS::Events::Rule")) > 0 {
				for _, er := range resources(js, "AWS::Events::Rule") {
					if strings.HasPrefix(fmt.Sprint(props(er)["Name"]), "rampart-forward-") {
						t.Errorf("%s: the home region forwards: %v", name, props(er)["Name"])
					}
				}
			}
		}
	}
}

// TestSignInsFromEveryRegionReachTheHome: with the catalog, every non-home
// region forwards the console sign-ins (root and IAM users, success and
// failure: no errorCode filter) to the home region.
func TestSignInsFromEveryRegionReachTheHome(t *testing.T) {
	a := catalogApp(t)
	for _, region := range regions[1:] {
		must(t, region+": sign-in forwarding", func() {
			a.tpl[region].HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
				"Name": "rampart-forward-signin",
				"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
					"source":      []any{"aws.signin"},
					"detail-type": []any{trigger.DetailSignIn, trigger.DetailSignInLegacy},
					"detail": assertions.Match_ObjectEquals(&map[string]any{
						"eventSource": []any{"signin.amazonaws.com"},
						"eventName":   []any{"ConsoleLogin"},
					}),
				}),
			})
		})
		must(t, region+": alarm forwarding", func() {
			a.tpl[region].HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
				"Name": "rampart-forward-alarms",
				"EventPattern": assertions.Match_ObjectLike(&map[string]any{
					"source": []any{"aws.cloudwatch"}, "detail-type": []any{"CloudWatch Alarm State Change"}}),
			})
		})
	}
	must(t, "home: alarm relay", func() {
		a.tpl[home].HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
			"Name": "rampart-alarm-relay",
			"EventPattern": assertions.Match_ObjectLike(&map[string]any{
				"region": []any{map[string]any{"anything-but": []any{home}}}}),
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{"Arn": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^Notifications"))}})},
		})
	})
}

func TestEveryConfigTriggerHasItsConfigRule(t *testing.T) {
	for name, a := range apps(t) {
		for _, region := range regions {
			tpl, js := a.tpl[region], a.json[region]
			for _, r := range a.rules {
				m := r.Meta()
				if !configIn(m, region) {
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
				if configIn(r.Meta(), region) {
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
	"sqs:SendMessage", "sts:GetCallerIdentity",
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan"}

// orgActions are the actions organization mode adds: the member role, the
// account list, the sweep fan-out queue.
var orgActions = []string{"sts:AssumeRole", "organizations:DescribeOrganization", "organizations:ListAccounts",
	"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}

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

// TestEveryFunctionRoleHoldsExactlyItsRulesActions: one role per function,
// in the home region's stack, used by the function in every region.
func TestEveryFunctionRoleHoldsExactlyItsRulesActions(t *testing.T) {
	for name, a := range allApps(t) {
		want := map[string][]string{} // function → its rules' actions, as deployed
		for _, r := range a.rules {
			m := r.Meta()
			p, err := m.Resolve(a.settings.Params[m.ID])
			if err != nil {
				t.Fatal(err)
			}
			want[m.Function] = append(want[m.Function], m.ReadActions...)
			want[m.Function] = append(want[m.Function], m.GrantedWriteActions(p)...)
		}
		for fn, actions := range want {
			roleID := homeRoleID(t, a, fn)
			role := resources(a.json[home], "AWS::IAM::Role")[roleID]
			if mp := props(role)["ManagedPolicyArns"]; mp != nil {
				t.Errorf("%s: role of %s has managed policies %v", name, fn, mp)
			}
			got := roleActions(a.json[home], roleID)
			for _, act := range actions {
				if !slices.Contains(got, act) {
					t.Errorf("%s: role of %s lacks %s", name, fn, act)
				}
			}
			for _, act := range got {
				if act == "iam:PassRole" {
					continue // TestPassRoleOnlyOnTheNamedRoles
				}
				if !slices.Contains(actions, act) && !slices.Contains(infraActions, act) &&
					(a.settings.Organization == nil || !slices.Contains(orgActions, act)) {
					t.Errorf("%s: role of %s holds %s, which none of its rules declares", name, fn, act)
				}
			}
			// Every region's function uses that one role, by ARN.
			for _, region := range regions {
				js := a.json[region]
				for _, f := range resources(js, "AWS::Lambda::Function") {
					if props(f)["FunctionName"] == "rampart-"+fn && props(f)["Role"] != "arn:aws:iam::111122223333:role/rampart-"+fn {
						t.Errorf("%s %s: %s runs as %v", name, region, fn, props(f)["Role"])
					}
				}
				if region != home && len(resources(js, "AWS::IAM::Policy")) > 0 {
					for id, p := range resources(js, "AWS::IAM::Policy") {
						if strings.Contains(fmt.Sprint(props(p)["Roles"]), "rampart-") {
							t.Errorf("%s %s: %s adds to a function role outside the home region", name, region, id)
						}
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
		js := a.json[home]
		byFn := map[string][]rule.Rule{}
		for _, r := range a.rules {
			byFn[r.Meta().Function] = append(byFn[r.Meta().Function], r)
		}
		for fn, all := range byFn {
			want, err := passRoles(all, &a.settings)
			if err != nil {
				t.Fatal(err)
			}
			roleID := homeRoleID(t, a, fn)
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
				t.Errorf("%s: %s may pass %v, want %v", name, fn, got, want)
			}
			granted += len(got)
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
				// An alarm on its errors and one on its dead-letter depth,
				// children of its composite alarm, which notifies
				// (TestCompositeAlarmPerFunction): no action of their own.
				for _, metric := range []string{"Errors", "ApproximateNumberOfMessagesVisible"} {
					must(t, fmt.Sprintf("%s %s: %s alarm of %s", name, region, metric, fn), func() {
						tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
							"AlarmName":    assertions.Match_StringLikeRegexp(jsii.String("^rampart-" + fn + "-")),
							"MetricName":   metric,
							"AlarmActions": assertions.Match_Absent(),
						})
					})
				}
			}
		}
	}
}

func TestFunctionEnvironment(t *testing.T) {
	for name, a := range allApps(t) {
		var roles []string
		seen := map[string]bool{}
		for _, r := range a.rules {
			if m := r.Meta(); !seen[m.Function] {
				seen[m.Function] = true
				roles = append(roles, "arn:aws:iam::111122223333:role/rampart-"+m.Function)
			}
		}
		roles = append(roles, a.settings.OwnRoles...)
		for _, region := range regions {
			for id, f := range resources(a.json[region], "AWS::Lambda::Function") {
				env := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
				own := strings.Split(env[engine.EnvOwnRoles].(string), ",")
				slices.Sort(own)
				slices.Sort(roles)
				if !slices.Equal(own, roles) {
					t.Errorf("%s %s: %s: %s = %v, want the full ARNs %v", name, region, id, engine.EnvOwnRoles, own, roles)
				}
				if env[engine.EnvMode] != string(a.settings.Mode) || env[engine.EnvExemptTag] != a.settings.ExemptTag {
					t.Errorf("%s %s: %s: env %v", name, region, id, env)
				}
				if topic := env[engine.EnvTopicARN]; topic != "arn:aws:sns:"+home+":111122223333:rampart-notifications" {
					t.Errorf("%s %s: %s: %s = %v, want the home region's topic", name, region, id, engine.EnvTopicARN, topic)
				}
				if env[envHomeRegion] != home || env[envRegions] != strings.Join(a.settings.Regions, ",") {
					t.Errorf("%s %s: %s: home %v regions %v", name, region, id, env[envHomeRegion], env[envRegions])
				}
				if o := a.settings.Organization; o != nil && (env[envOrgID] != o.ID || env[envMemberRole] != o.MemberRoleName) {
					t.Errorf("%s %s: %s: organization env %v", name, region, id, env)
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

// TestEncryptedTopicAndQueues: one encrypted topic, in the home region;
// every queue encrypted and TLS-only everywhere.
func TestEncryptedTopicAndQueues(t *testing.T) {
	for name, a := range allApps(t) {
		for _, region := range regions {
			tpl, js := a.tpl[region], a.json[region]
			must(t, fmt.Sprintf("%s %s: queues", name, region), func() {
				tpl.AllResourcesProperties(jsii.String("AWS::SQS::Queue"), &map[string]any{"SqsManagedSseEnabled": true})
				deny := assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				})})
				tpl.AllResourcesProperties(jsii.String("AWS::SQS::QueuePolicy"), &map[string]any{
					"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": deny})})
			})
			topics, subs := len(resources(js, "AWS::SNS::Topic")), len(resources(js, "AWS::SNS::Subscription"))
			if region != home {
				if topics+subs+len(resources(js, "AWS::KMS::Key")) > 0 {
					t.Errorf("%s %s: %d topics, %d subscriptions outside the home region", name, region, topics, subs)
				}
				continue
			}
			must(t, fmt.Sprintf("%s %s: topic", name, region), func() {
				tpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), &map[string]any{
					"TopicName":      "rampart-notifications",
					"KmsMasterKeyId": assertions.Match_AnyValue(),
				})
				tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), &map[string]any{"EnableKeyRotation": true})
				deny := assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				})})
				tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), &map[string]any{
					"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": deny})})
			})
			if want := map[bool]int{true: 1, false: 0}[a.settings.NotificationEmail != ""]; subs != want {
				t.Errorf("%s %s: %d subscriptions, want %d", name, region, subs, want)
			}
		}
	}
}
