// Package selfprotection holds self-protection: Rampart's own resources stay as
// deployed. It watches the calls that switch Rampart off piecemeal — its
// EventBridge rules disabled, deleted, retargeted or rewritten; its Lambda
// functions deleted, throttled to zero, given other code, configuration or
// permissions; its Config rules deleted; its notification topic deleted,
// re-permissioned or unsubscribed; its CloudWatch alarms (the heartbeat
// among them) deleted, rewritten or silenced; its CloudFormation stacks
// deleted or changed — by anyone but the deploying principals, and sweeps
// hourly for Rampart rules left disabled and functions left at zero
// concurrency.
//
// Every such call is alerted. Only what can be restored exactly and safely is
// restored: a disabled EventBridge rule that targets a Rampart function is
// enabled again, and a Rampart function's reserved concurrency of zero is
// removed. Code, configuration, patterns, targets, permissions, subscriptions
// and stacks cannot be put back exactly from an event: those are alerts, and
// the fix is a redeploy.
//
// Rampart's resources are recognised by their deterministic names (see
// infra/plan.go): EventBridge rules on the default bus, functions, Config
// rules and alarms named "rampart-…", the stacks "rampart-<region>", and the topic
// RAMPART_TOPIC_ARN (default: rampart-notifications in the call's account
// and region). Anyone may name a resource "rampart-…": for such a resource
// the rule alerts (noise, never harm) and restores only where that is
// harmless — see Evaluate.
//
// The deploying principals are RAMPART_DEPLOYER_ARNS, a comma list of IAM
// role ARNs, by default the CDK bootstrap roles of the call's account and
// region (cdk-hnb659fds-deploy-role-… and cdk-hnb659fds-cfn-exec-role-…).
// A call is theirs when the session issuer of the caller's assumed-role
// session is one of those ARNs exactly: never by a name, which anyone can
// choose for a role of their own.
//
// A tag on Rampart's own resources never exempts them: the rule accepts only
// the checked-in exemption list (rule.Meta.ListExemptionsOnly).
package selfprotection

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/deployer"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Environment variables the rule reads.
const (
	// EnvDeployerARNs lists the IAM role ARNs allowed to change Rampart
	// (comma-separated); unset means the CDK bootstrap roles.
	EnvDeployerARNs = deployer.Env
	// EnvTopicARN is Rampart's notification topic (the engine reads it too).
	EnvTopicARN = "RAMPART_TOPIC_ARN"
)

// Prefix names every Rampart resource.
const Prefix = "rampart-"

// DefaultTopicName is the notification topic's name (infra/stack.go).
const DefaultTopicName = "rampart-notifications"

// Resource types, as targets name them.
const (
	typeEventRule  = "AWS::Events::Rule"
	typeFunction   = "AWS::Lambda::Function"
	typeConfigRule = "AWS::Config::ConfigRule"
	typeTopic      = "AWS::SNS::Topic"
	typeStack      = "AWS::CloudFormation::Stack"
	typeAlarm      = "AWS::CloudWatch::Alarm"
)

// IAM actions, as plans name them.
const (
	apiEnableRule        = "events:EnableRule"
	apiDisableRule       = "events:DisableRule"
	apiDeleteConcurrency = "lambda:DeleteFunctionConcurrency"
	apiPutConcurrency    = "lambda:PutFunctionConcurrency"
)

// Rule is self-protection.
var Rule = rule.Define(rule.Spec[resource, params]{
	Meta:    &meta,
	Parse:   parse,
	Targets: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   judge,
	Apply:   apply,
	Sweep:   sweep,
})

// params are the deployment's configuration the rule judges with: not rule
// parameters (they are the deployment's, set by the CDK app) but read from
// the environment once, when the rule is bound (at cold start).
type params struct {
	// Deployers are RAMPART_DEPLOYER_ARNS's role ARNs; nil: the CDK
	// bootstrap roles of the call's account and region.
	Deployers deployer.Roles
	// Topic is RAMPART_TOPIC_ARN; "": rampart-notifications in the call's
	// account and region.
	Topic string
}

// parse reads the deployment's configuration; a malformed
// RAMPART_DEPLOYER_ARNS is an error (see parseDeployers).
func parse(rule.Params) (params, error) {
	d, err := deployer.FromEnv()
	if err != nil {
		return params{}, err
	}
	return params{Deployers: d, Topic: strings.TrimSpace(os.Getenv(EnvTopicARN))}, nil
}

var meta = rule.Meta{
	ID:       "self-protection",
	Title:    "Rampart's own resources stay as deployed",
	Severity: rule.Critical,
	Rationale: "An intruder who cannot stop Rampart remediating switches it off first: disables or retargets its EventBridge rules, " +
		"throttles or replaces its functions, deletes its Config rules, silences its topic or deletes its stack. Each call is small " +
		"and every later change then goes unseen.",
	Remediation: "Alerts on every change to Rampart's rules, functions, Config rules, topic or stacks by anyone but the deploying principals; " +
		"re-enables a disabled Rampart EventBridge rule and removes a zero reserved concurrency; everything else needs a redeploy.",
	ResourceType: strings.Join([]string{typeEventRule, typeFunction, typeConfigRule, typeTopic, typeStack, typeAlarm}, ","),
	Function:     "guard",
	CloudTrail: []rule.CloudTrailTrigger{
		{Source: "events.amazonaws.com", Events: []string{"DisableRule", "DeleteRule", "RemoveTargets", "PutTargets", "PutRule"}},
		{Source: "lambda.amazonaws.com", Events: []string{"DeleteFunction20150331", "PutFunctionConcurrency20171031",
			"UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2", "RemovePermission20150331v2"}},
		{Source: "config.amazonaws.com", Events: []string{"DeleteConfigRule"}},
		{Source: "sns.amazonaws.com", Events: []string{"Unsubscribe", "SetSubscriptionAttributes", "DeleteTopic", "SetTopicAttributes"}},
		{Source: "cloudformation.amazonaws.com", Events: []string{"DeleteStack", "UpdateStack", "CreateChangeSet", "ExecuteChangeSet",
			"UpdateTerminationProtection", "SetStackPolicy"}},
		// The heartbeat and the functions' alarms: silencing them first
		// would hide the rest.
		{Source: "monitoring.amazonaws.com", Events: []string{"DeleteAlarms", "DisableAlarmActions", "PutMetricAlarm", "PutCompositeAlarm"}},
	},
	// The sweep reports every Rampart rule and function each hour: the
	// heartbeat alarm (infra/heartbeat.go) counts its decisions.
	Schedule: "rate(1 hour)",
	ReadActions: []string{"events:DescribeRule", "events:ListTargetsByRule", "events:ListRules",
		"lambda:GetFunctionConcurrency", "lambda:ListFunctions"},
	WriteActions: []string{rule.AlertAPI, apiEnableRule, apiDeleteConcurrency},

	ListExemptionsOnly: true, // guards Rampart itself: only the checked-in list exempts
}

// evidence is what a call did to one of Rampart's resources.
type evidence struct {
	Event string
	// Disables is set when the call left an EventBridge rule disabled
	// (DisableRule, or PutRule with state DISABLED).
	Disables bool
	// ZeroConcurrency is set when the call reserved zero concurrency.
	ZeroConcurrency bool
}

// resource is what the rule judges of one of Rampart's resources: what a
// call did to it, or that the sweep listed it, and what the reads a
// restoration needs found (offline: what the event implies).
type resource struct {
	// Call is what the call did; nil when the sweep listed the resource
	// (Swept) or when no call names a Rampart resource.
	Call  *evidence
	Swept bool
	// Listed is an EventBridge rule's state as the sweep listed it.
	Listed string
	// Rule is what DescribeRule and ListTargetsByRule found of a rule that
	// may be re-enabled; Concurrency what GetFunctionConcurrency found of a
	// function that may be at zero. Nil: not read.
	Rule        *ruleState
	Concurrency *concurrency
}

// ruleState is the current state of an EventBridge rule.
type ruleState struct {
	// Implied: offline, the event implies a disabled Rampart rule.
	Implied bool
	Gone    bool
	State   string
	// TargetsRampart is read only for a disabled rule.
	TargetsRampart bool
}

// concurrency is a function's current reserved concurrency.
type concurrency struct {
	// Implied: offline, the event implies zero.
	Implied  bool
	Gone     bool
	Reserved *int32 // nil: no reservation
}

// targets are the Rampart resource the call names, if it names one.
// requestParameters that are not an object, or lack the name the API
// requires, are bad input.
func targets(call *trigger.APICall, p params) ([]rule.Target, error) {
	var req struct {
		Name         string   `json:"name"`
		Rule         string   `json:"rule"`
		EventBusName string   `json:"eventBusName"`
		State        string   `json:"state"`
		FunctionName string   `json:"functionName"`
		Reserved     *int     `json:"reservedConcurrentExecutions"`
		ConfigRule   string   `json:"configRuleName"`
		TopicARN     string   `json:"topicArn"`
		Subscription string   `json:"subscriptionArn"`
		StackName    string   `json:"stackName"`
		AlarmName    string   `json:"alarmName"`
		AlarmNames   []string `json:"alarmNames"`
	}
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return nil, fmt.Errorf("%w: %s requestParameters: %w", trigger.ErrInput, call.EventName, err)
	}
	if string(call.Request) == "null" {
		return nil, fmt.Errorf("%w: %s has no requestParameters", trigger.ErrInput, call.EventName)
	}
	need := func(v, field string) error {
		if v == "" {
			return fmt.Errorf("%w: %s names no %s", trigger.ErrInput, call.EventName, field)
		}
		return nil
	}
	ev := evidence{Event: call.EventName}
	t := rule.Target{Region: call.Region}
	switch call.EventSource {
	case "events.amazonaws.com":
		name := req.Name
		if call.EventName == "RemoveTargets" || call.EventName == "PutTargets" {
			name = req.Rule
		}
		if err := need(name, "rule"); err != nil {
			return nil, err
		}
		if !defaultBus(req.EventBusName) || !strings.HasPrefix(name, Prefix) {
			return nil, nil
		}
		t.Type, t.ID = typeEventRule, name
		ev.Disables = call.EventName == "DisableRule" || (call.EventName == "PutRule" && strings.EqualFold(req.State, string(ebtypes.RuleStateDisabled)))
	case "lambda.amazonaws.com":
		if err := need(req.FunctionName, "function"); err != nil {
			return nil, err
		}
		name, err := functionName(req.FunctionName)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", trigger.ErrInput, call.EventName, err)
		}
		if !strings.HasPrefix(name, Prefix) {
			return nil, nil
		}
		t.Type, t.ID = typeFunction, name
		if call.EventName == "PutFunctionConcurrency20171031" {
			if req.Reserved == nil {
				return nil, fmt.Errorf("%w: %s names no reservedConcurrentExecutions", trigger.ErrInput, call.EventName)
			}
			ev.ZeroConcurrency = *req.Reserved == 0
		}
	case "config.amazonaws.com":
		if err := need(req.ConfigRule, "configRuleName"); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(req.ConfigRule, Prefix) {
			return nil, nil
		}
		t.Type, t.ID = typeConfigRule, req.ConfigRule
	case "sns.amazonaws.com":
		topic := req.TopicARN
		if call.EventName == "Unsubscribe" || call.EventName == "SetSubscriptionAttributes" {
			if err := need(req.Subscription, "subscriptionArn"); err != nil {
				return nil, err
			}
			var err error
			if topic, err = subscriptionTopic(req.Subscription); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", trigger.ErrInput, call.EventName, err)
			}
		}
		if err := need(topic, "topicArn"); err != nil {
			return nil, err
		}
		if topic != p.topicARN(call) {
			return nil, nil
		}
		t.Type, t.ID = typeTopic, topic
	case "monitoring.amazonaws.com":
		names := req.AlarmNames
		if call.EventName == "PutMetricAlarm" || call.EventName == "PutCompositeAlarm" {
			names = []string{req.AlarmName}
		}
		if len(names) == 0 || slices.Contains(names, "") {
			return nil, fmt.Errorf("%w: %s names no alarm", trigger.ErrInput, call.EventName)
		}
		var out []rule.Target
		for _, n := range names {
			if strings.HasPrefix(n, Prefix) {
				out = append(out, rule.Target{Type: typeAlarm, ID: n, Region: call.Region, Evidence: ev})
			}
		}
		return out, nil
	case "cloudformation.amazonaws.com":
		// ExecuteChangeSet may name the change set by ARN alone, which does
		// not name the stack; CreateChangeSet (watched too) always does.
		if req.StackName == "" && call.EventName == "ExecuteChangeSet" {
			return nil, nil
		}
		if err := need(req.StackName, "stackName"); err != nil {
			return nil, err
		}
		name := stackName(req.StackName)
		if !strings.HasPrefix(name, Prefix) {
			return nil, nil
		}
		t.Type, t.ID = typeStack, name
	default:
		return nil, nil
	}
	t.Evidence = ev
	return []rule.Target{t}, nil
}

// defaultBus reports whether an eventBusName (absent, a name or an ARN) is
// the default bus, where Rampart's rules live.
func defaultBus(bus string) bool {
	return bus == "" || bus == "default" || strings.HasSuffix(bus, ":event-bus/default")
}

// functionName reads a Lambda FunctionName: a name, an ARN or a partial ARN
// (123456789012:function:name), optionally with a qualifier.
func functionName(s string) (string, error) {
	if a, err := arn.Parse(s); err == nil {
		s = a.AccountID + ":" + a.Resource
	}
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 1 || len(parts) == 2 && parts[0] != "function":
		return parts[0], nil // name, or name:qualifier
	case len(parts) >= 3 && parts[1] == "function" && parts[2] != "":
		return parts[2], nil
	case len(parts) >= 2 && parts[0] == "function" && parts[1] != "":
		return parts[1], nil
	}
	return "", fmt.Errorf("function name %q", s)
}

// subscriptionTopic is the topic ARN of a subscription ARN (the topic's ARN
// and ":" and the subscription ID).
func subscriptionTopic(sub string) (string, error) {
	a, err := arn.Parse(sub)
	if err != nil || a.Service != "sns" {
		return "", fmt.Errorf("subscription %q is not an SNS ARN", sub)
	}
	topic, _, ok := strings.Cut(a.Resource, ":")
	if !ok || topic == "" {
		return "", fmt.Errorf("subscription %q names no topic", sub)
	}
	a.Resource = topic
	return a.String(), nil
}

// stackName reads a StackName: a name or a stack ID
// (arn:…:stack/name/uuid).
func stackName(s string) string {
	if a, err := arn.Parse(s); err == nil {
		if rest, ok := strings.CutPrefix(a.Resource, "stack/"); ok {
			name, _, _ := strings.Cut(rest, "/")
			return name
		}
	}
	return s
}

// account is the account a call was made in.
func account(call *trigger.APICall) string {
	if call.Account != "" {
		return call.Account
	}
	return call.Actor.AccountID
}

// topicARN is Rampart's topic: RAMPART_TOPIC_ARN, else the default name in
// the call's account and region.
func (p params) topicARN(call *trigger.APICall) string {
	if p.Topic != "" {
		return p.Topic
	}
	return arn.ARN{Partition: awsclient.PartitionOf(call.Region), Service: "sns", Region: call.Region, AccountID: account(call), Resource: DefaultTopicName}.String()
}

// what says in words what a call did.
var what = map[string]string{
	"DisableRule":                           "disabled",
	"DeleteRule":                            "deleted",
	"RemoveTargets":                         "removed targets of",
	"PutTargets":                            "changed the targets of",
	"PutRule":                               "rewrote",
	"DeleteFunction20150331":                "deleted",
	"PutFunctionConcurrency20171031":        "reserved concurrency on",
	"UpdateFunctionCode20150331v2":          "replaced the code of",
	"UpdateFunctionConfiguration20150331v2": "changed the configuration of",
	"RemovePermission20150331v2":            "removed an invoke permission of",
	"DeleteConfigRule":                      "deleted",
	"Unsubscribe":                           "removed a subscription of",
	"SetSubscriptionAttributes":             "changed a subscription of",
	"DeleteTopic":                           "deleted",
	"SetTopicAttributes":                    "changed the attributes of",
	"DeleteStack":                           "deleted",
	"UpdateStack":                           "updated",
	"CreateChangeSet":                       "prepared a change set for",
	"ExecuteChangeSet":                      "executed a change set on",
	"UpdateTerminationProtection":           "changed the termination protection of",
	"SetStackPolicy":                        "replaced the stack policy of",
	"DeleteAlarms":                          "deleted",
	"DisableAlarmActions":                   "disabled the actions of",
	"PutMetricAlarm":                        "rewrote",
	"PutCompositeAlarm":                     "rewrote the composite",
}

var kinds = map[string]string{typeEventRule: "EventBridge rule", typeFunction: "function", typeConfigRule: "Config rule",
	typeTopic: "notification topic", typeStack: "stack", typeAlarm: "CloudWatch alarm"}

// callOf is what the target's call did, if a call names it.
func callOf(t rule.Target) (evidence, bool) {
	ev, ok := t.Evidence.(evidence)
	return ev, ok && t.Call != nil
}

// observe reads what a restoration needs: the rule's state (and, when
// disabled, its targets) for a call that disabled it, the function's
// reserved concurrency for a call that zeroed it. A deploying principal's
// call, or one nothing can restore, needs no read.
func observe(ctx context.Context, env rule.Env, t rule.Target, p params) (resource, error) {
	ev, ok := callOf(t)
	if !ok {
		return resource{}, nil
	}
	r := resource{Call: &ev}
	if _, ok := p.Deployers.Made(t.Call); ok {
		return r, nil
	}
	var err error
	switch {
	case ev.Disables:
		r.Rule, err = readRule(ctx, awsclient.Client(env.Session, eventbridge.NewFromConfig), t.ID, t.Region)
	case ev.ZeroConcurrency:
		r.Concurrency, err = readConcurrency(ctx, awsclient.Client(env.Session, lambda.NewFromConfig), t.ID)
	}
	return r, err
}

// plan is the offline planner: the event implies a disabled rule or a
// zero concurrency.
func plan(t rule.Target, _ params) (resource, error) {
	ev, ok := callOf(t)
	if !ok {
		return resource{}, nil
	}
	r := resource{Call: &ev}
	switch {
	case ev.Disables:
		r.Rule = &ruleState{Implied: true}
	case ev.ZeroConcurrency:
		r.Concurrency = &concurrency{Implied: true}
	}
	return r, nil
}

// judge decides one of Rampart's resources. A call by a deploying
// principal is compliant. Any other call is a violation and an alert; what
// can be restored safely is planned from the current state (offline: from
// the event):
//
//   - a disabled EventBridge rule is enabled again only when it targets a
//     Rampart function (rampart-… in the rule's account and region). An
//     intruder's own "rampart-x" rule that targets his function is not
//     enabled: that would run his targets on Rampart's authority.
//   - a function left at zero reserved concurrency gets its reservation
//     removed (Rampart deploys none). On an intruder's own "rampart-x"
//     function this only lets his function run: nothing he could not do.
func judge(r resource, t rule.Target, p params, _ rule.Facts) rule.Finding {
	if r.Swept {
		return judgeSwept(r, t)
	}
	if r.Call == nil || t.Call == nil {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "no call names a Rampart resource"}
	}
	ev := *r.Call
	kind := kinds[t.Type]
	if who, ok := p.Deployers.Made(t.Call); ok {
		return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("%s on Rampart's %s %s was made by the deploying principal %s", ev.Event, kind, t.ID, who)}
	}
	actor := t.Call.Actor.ARN
	if actor == "" {
		actor = t.Call.Actor.Type
	}
	msg := fmt.Sprintf("%s %s Rampart's %s %s (%s)", actor, what[ev.Event], kind, t.ID, ev.Event)
	f := rule.Finding{Verdict: rule.Violation, Actions: []rule.Action{rule.Alert(t.ID, msg)}}
	var fix *rule.Action
	var note string
	switch {
	case ev.Disables && r.Rule != nil:
		fix, note = enableRule(*r.Rule, t.ID)
	case ev.ZeroConcurrency && r.Concurrency != nil:
		fix, note = removeZeroConcurrency(*r.Concurrency, t.ID)
	default:
		note = "not restored: it cannot be put back exactly from the event; redeploy Rampart"
	}
	if fix != nil {
		f.Actions = append(f.Actions, *fix)
	}
	f.Reason = msg + "; " + note
	return f
}

// enableRule plans EnableRule on a disabled Rampart EventBridge rule, from
// its state (readRule).
func enableRule(st ruleState, name string) (*rule.Action, string) {
	plan := func() *rule.Action {
		undo := rule.NewAction(apiDisableRule, name, "disable the rule again", ruleParams{Name: name}, nil)
		a := rule.NewAction(apiEnableRule, name, "enable Rampart's EventBridge rule again", ruleParams{Name: name}, &undo)
		return &a
	}
	switch {
	case st.Implied:
		return plan(), "re-enabled (as the event implies it is disabled)"
	case st.Gone:
		return nil, "not restored: the rule is gone; redeploy Rampart"
	case st.State != string(ebtypes.RuleStateDisabled):
		return nil, fmt.Sprintf("the rule is %s again", st.State)
	case !st.TargetsRampart:
		return nil, "not re-enabled: the rule targets no Rampart function, so it may not be Rampart's"
	}
	return plan(), "re-enabled"
}

// rulesAPI is what the rule reads of EventBridge.
type rulesAPI interface {
	DescribeRule(context.Context, *eventbridge.DescribeRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
	ListTargetsByRule(context.Context, *eventbridge.ListTargetsByRuleInput, ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
}

// readRule reads an EventBridge rule's state, and its targets when it is
// disabled: DescribeRule, then ListTargetsByRule.
func readRule(ctx context.Context, api rulesAPI, name, region string) (*ruleState, error) {
	out, err := api.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
	switch {
	case awsclient.HasCode(err, "ResourceNotFoundException"):
		return &ruleState{Gone: true}, nil
	case err != nil:
		return nil, fmt.Errorf("describe rule %s: %w", name, err)
	}
	st := &ruleState{State: string(out.State)}
	if out.State != ebtypes.RuleStateDisabled {
		return st, nil
	}
	if st.TargetsRampart, err = targetsRampart(ctx, api, name, region, aws.ToString(out.Arn)); err != nil {
		return nil, err
	}
	return st, nil
}

// targetsRampart reports whether an EventBridge rule sends to a Rampart
// function of its own account and region.
func targetsRampart(ctx context.Context, api rulesAPI, name, region, ruleARN string) (bool, error) {
	acct := ""
	if a, err := arn.Parse(ruleARN); err == nil {
		acct, region = a.AccountID, a.Region
	}
	var token *string
	for {
		out, err := api.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name), NextToken: token})
		if err != nil {
			return false, fmt.Errorf("list targets of rule %s: %w", name, err)
		}
		for _, tg := range out.Targets {
			a, err := arn.Parse(aws.ToString(tg.Arn))
			if err != nil || a.Service != "lambda" || a.Region != region || (acct != "" && a.AccountID != acct) {
				continue
			}
			if fn, ok := strings.CutPrefix(a.Resource, "function:"); ok && strings.HasPrefix(fn, Prefix) {
				return true, nil
			}
		}
		if token = out.NextToken; token == nil {
			return false, nil
		}
	}
}

// removeZeroConcurrency plans DeleteFunctionConcurrency on a function whose
// reserved concurrency is zero, from its state (readConcurrency).
func removeZeroConcurrency(c concurrency, name string) (*rule.Action, string) {
	plan := func() *rule.Action {
		zero := 0
		undo := rule.NewAction(apiPutConcurrency, name, "reserve zero concurrency again", functionParams{Name: name, Reserved: &zero}, nil)
		a := rule.NewAction(apiDeleteConcurrency, name, "remove the zero reserved concurrency that stops the function", functionParams{Name: name}, &undo)
		return &a
	}
	switch {
	case c.Implied:
		return plan(), "concurrency reservation removed (as the event implies it is zero)"
	case c.Gone:
		return nil, "not restored: the function is gone; redeploy Rampart"
	case c.Reserved == nil || *c.Reserved != 0:
		return nil, "the function is no longer at zero concurrency"
	}
	return plan(), "concurrency reservation removed"
}

// concurrencyAPI is what the rule reads of Lambda.
type concurrencyAPI interface {
	GetFunctionConcurrency(context.Context, *lambda.GetFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error)
}

// readConcurrency reads a function's reserved concurrency (one call).
func readConcurrency(ctx context.Context, api concurrencyAPI, name string) (*concurrency, error) {
	out, err := api.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
	switch {
	case awsclient.HasCode(err, "ResourceNotFoundException"):
		return &concurrency{Gone: true}, nil
	case err != nil:
		return nil, fmt.Errorf("get concurrency of %s: %w", name, err)
	}
	return &concurrency{Reserved: out.ReservedConcurrentExecutions}, nil
}

// Action params.
type ruleParams struct {
	Name string `json:"name"`
}

type functionParams struct {
	Name     string `json:"functionName"`
	Reserved *int   `json:"reservedConcurrentExecutions,omitempty"`
}

// apply makes EnableRule and DeleteFunctionConcurrency, and their undos.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	s := env.Session
	switch a.API {
	case apiEnableRule, apiDisableRule:
		var rp ruleParams
		if err := a.Decode(&rp); err != nil {
			return err
		}
		if !strings.HasPrefix(rp.Name, Prefix) {
			return fmt.Errorf("%s: %q is not a Rampart rule", a.API, rp.Name)
		}
		client := awsclient.Client(s, eventbridge.NewFromConfig)
		var err error
		if a.API == apiEnableRule {
			_, err = client.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String(rp.Name)})
		} else {
			_, err = client.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(rp.Name)})
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", a.API, rp.Name, err)
		}
		return nil
	case apiDeleteConcurrency, apiPutConcurrency:
		var fp functionParams
		if err := a.Decode(&fp); err != nil {
			return err
		}
		if !strings.HasPrefix(fp.Name, Prefix) {
			return fmt.Errorf("%s: %q is not a Rampart function", a.API, fp.Name)
		}
		if a.API == apiPutConcurrency && (fp.Reserved == nil || *fp.Reserved < 0) {
			return fmt.Errorf("%s: params need reservedConcurrentExecutions", a.API)
		}
		client := awsclient.Client(s, lambda.NewFromConfig)
		var err error
		if a.API == apiDeleteConcurrency {
			_, err = client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(fp.Name)})
		} else {
			_, err = client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(fp.Name),
				ReservedConcurrentExecutions: aws.Int32(int32(*fp.Reserved))})
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", a.API, fp.Name, err)
		}
		return nil
	}
	return fmt.Errorf("self-protection cannot apply %s", a.API)
}

// sweep lists every Rampart EventBridge rule (with its state) and every
// Rampart function of the region, each with what a restoration needs: a
// disabled rule's current state and targets, each function's reserved
// concurrency. The engine never sweeps offline.
func sweep(ctx context.Context, env rule.Env, _ params) ([]rule.Target, error) {
	s := env.Session
	var out []rule.Target
	eb := awsclient.Client(s, eventbridge.NewFromConfig)
	var token *string
	for {
		page, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String(Prefix), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("list EventBridge rules: %w", err)
		}
		for _, r := range page.Rules {
			name := aws.ToString(r.Name)
			st := resource{Swept: true, Listed: string(r.State)}
			if r.State == ebtypes.RuleStateDisabled {
				if st.Rule, err = readRule(ctx, eb, name, s.Region); err != nil {
					return nil, err
				}
			}
			out = append(out, rule.Target{Type: typeEventRule, ID: name, Region: s.Region, State: st})
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	lc := awsclient.Client(s, lambda.NewFromConfig)
	fns := lambda.NewListFunctionsPaginator(lc, &lambda.ListFunctionsInput{})
	for fns.HasMorePages() {
		page, err := fns.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list functions: %w", err)
		}
		for _, f := range page.Functions {
			if name := aws.ToString(f.FunctionName); strings.HasPrefix(name, Prefix) {
				st := resource{Swept: true}
				if st.Concurrency, err = readConcurrency(ctx, lc, name); err != nil {
					return nil, err
				}
				out = append(out, rule.Target{Type: typeFunction, ID: name, Region: s.Region, State: st})
			}
		}
	}
	return out, nil
}

// judgeSwept decides a swept rule or function: a disabled Rampart rule or a
// function at zero concurrency is a violation (who did it is unknown: the
// event was lost or came before Rampart); the same restorations apply.
func judgeSwept(r resource, t rule.Target) rule.Finding {
	kind := kinds[t.Type]
	var fix *rule.Action
	var note string
	switch t.Type {
	case typeEventRule:
		if r.Listed != string(ebtypes.RuleStateDisabled) {
			return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("Rampart's %s %s is %s", kind, t.ID, r.Listed)}
		}
		if r.Rule != nil {
			fix, note = enableRule(*r.Rule, t.ID)
		}
	case typeFunction:
		if r.Concurrency != nil {
			fix, note = removeZeroConcurrency(*r.Concurrency, t.ID)
		}
	}
	if fix == nil {
		if t.Type == typeFunction || strings.HasPrefix(note, "the rule is") {
			return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("Rampart's %s %s is in service", kind, t.ID)}
		}
		return rule.Finding{Verdict: rule.NotApplicable, Reason: fmt.Sprintf("%s %s is disabled; %s", kind, t.ID, note)}
	}
	what := "is disabled"
	if t.Type == typeFunction {
		what = "has zero reserved concurrency: it never runs"
	}
	msg := fmt.Sprintf("Rampart's %s %s %s (found by the sweep)", kind, t.ID, what)
	return rule.Finding{Verdict: rule.Violation, Reason: msg + "; " + note, Actions: []rule.Action{rule.Alert(t.ID, msg), *fix}}
}
