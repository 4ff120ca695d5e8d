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
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Environment variables the rule reads.
const (
	// EnvDeployerARNs lists the IAM role ARNs allowed to change Rampart
	// (comma-separated); unset means the CDK bootstrap roles.
	EnvDeployerARNs = "RAMPART_DEPLOYER_ARNS"
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
var Rule = &guardRule{}

type guardRule struct{}

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

// Meta implements rule.Rule.
func (*guardRule) Meta() *rule.Meta { return &meta }

// evidence is what a call did to one of Rampart's resources.
type evidence struct {
	Event string
	// Disables is set when the call left an EventBridge rule disabled
	// (DisableRule, or PutRule with state DISABLED).
	Disables bool
	// ZeroConcurrency is set when the call reserved zero concurrency.
	ZeroConcurrency bool
}

// swept marks a target the sweep listed (no call).
type swept struct{ State string }

// Targets implements rule.Rule: the Rampart resource the call names, if it
// names one. requestParameters that are not an object, or lack the name the
// API requires, are bad input.
func (*guardRule) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
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
		return nil, fmt.Errorf("%w: %s requestParameters: %v", trigger.ErrInput, call.EventName, err)
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
			return nil, fmt.Errorf("%w: %s: %v", trigger.ErrInput, call.EventName, err)
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
				return nil, fmt.Errorf("%w: %s: %v", trigger.ErrInput, call.EventName, err)
			}
		}
		if err := need(topic, "topicArn"); err != nil {
			return nil, err
		}
		if topic != topicARN(call) {
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
func topicARN(call *trigger.APICall) string {
	if v := strings.TrimSpace(os.Getenv(EnvTopicARN)); v != "" {
		return v
	}
	return arn.ARN{Partition: awsclient.PartitionOf(call.Region), Service: "sns", Region: call.Region, AccountID: account(call), Resource: DefaultTopicName}.String()
}

// Deployers are the role ARNs allowed to change Rampart's resources, for a
// call: RAMPART_DEPLOYER_ARNS, else the CDK bootstrap deploy and
// CloudFormation execution roles of the call's account and region. A value
// that is not an IAM role ARN is an error: a typo must not silently let
// nobody (or everybody) through.
func Deployers(call *trigger.APICall) ([]string, error) {
	v := strings.TrimSpace(os.Getenv(EnvDeployerARNs))
	if v == "" {
		acct, region := account(call), call.Region
		var out []string
		for _, kind := range []string{"deploy", "cfn-exec"} {
			out = append(out, arn.ARN{Partition: awsclient.PartitionOf(region), Service: "iam", AccountID: acct,
				Resource: fmt.Sprintf("role/cdk-hnb659fds-%s-role-%s-%s", kind, acct, region)}.String())
		}
		return out, nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		a, err := arn.Parse(s)
		if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
			return nil, fmt.Errorf("%s: %q is not an IAM role ARN", EnvDeployerARNs, s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s names no role", EnvDeployerARNs)
	}
	return out, nil
}

// CheckEnv validates RAMPART_DEPLOYER_ARNS, for the function's cold start:
// a malformed value stops the function before it handles anything, as a
// malformed engine setting does.
func CheckEnv() error {
	if strings.TrimSpace(os.Getenv(EnvDeployerARNs)) == "" {
		return nil
	}
	_, err := Deployers(&trigger.APICall{})
	return err
}

// byDeployer reports whether the call was made in a session of a deploying
// role: the session issuer's full ARN, exactly.
func byDeployer(call *trigger.APICall) (string, bool, error) {
	deployers, err := Deployers(call)
	if err != nil {
		return "", false, err
	}
	a := call.Actor
	if a.Type != "AssumedRole" || a.IssuerARN == "" {
		return "", false, nil
	}
	if slices.Contains(deployers, a.IssuerARN) {
		return a.IssuerARN, true, nil
	}
	return "", false, nil
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

// Evaluate implements rule.Rule. A call by a deploying principal is
// compliant. Any other call is a violation and an alert; what can be
// restored safely is planned from the current state (offline: from the
// event):
//
//   - a disabled EventBridge rule is enabled again only when it targets a
//     Rampart function (rampart-… in the rule's account and region). An
//     intruder's own "rampart-x" rule that targets his function is not
//     enabled: that would run his targets on Rampart's authority.
//   - a function left at zero reserved concurrency gets its reservation
//     removed (Rampart deploys none). On an intruder's own "rampart-x"
//     function this only lets his function run: nothing he could not do.
func (*guardRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	if sw, ok := t.Evidence.(swept); ok {
		return judgeSwept(ctx, s, t, sw)
	}
	ev, ok := t.Evidence.(evidence)
	if !ok || t.Call == nil {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "no call names a Rampart resource"}, nil
	}
	who, deployer, err := byDeployer(t.Call)
	if err != nil {
		return rule.Finding{}, err
	}
	kind := kinds[t.Type]
	if deployer {
		return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("%s on Rampart's %s %s was made by the deploying principal %s", ev.Event, kind, t.ID, who)}, nil
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
	case ev.Disables:
		fix, note, err = enableRule(ctx, s, t.ID, t.Region)
	case ev.ZeroConcurrency:
		fix, note, err = removeZeroConcurrency(ctx, s, t.ID)
	default:
		note = "not restored: it cannot be put back exactly from the event; redeploy Rampart"
	}
	if err != nil {
		return rule.Finding{}, err
	}
	if fix != nil {
		f.Actions = append(f.Actions, *fix)
	}
	f.Reason = msg + "; " + note
	return f, nil
}

// enableRule plans EnableRule on a disabled Rampart EventBridge rule: two
// reads (DescribeRule, ListTargetsByRule), none offline.
func enableRule(ctx context.Context, s *awsclient.Session, name, region string) (*rule.Action, string, error) {
	plan := func() *rule.Action {
		undo := rule.NewAction(apiDisableRule, name, "disable the rule again", ruleParams{Name: name}, nil)
		a := rule.NewAction(apiEnableRule, name, "enable Rampart's EventBridge rule again", ruleParams{Name: name}, &undo)
		return &a
	}
	if s.Offline {
		return plan(), "re-enabled (as the event implies it is disabled)", nil
	}
	client := awsclient.Client(s, eventbridge.NewFromConfig)
	out, err := client.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
	switch {
	case awsclient.HasCode(err, "ResourceNotFoundException"):
		return nil, "not restored: the rule is gone; redeploy Rampart", nil
	case err != nil:
		return nil, "", fmt.Errorf("describe rule %s: %w", name, err)
	}
	if out.State != ebtypes.RuleStateDisabled {
		return nil, fmt.Sprintf("the rule is %s again", out.State), nil
	}
	ours, err := targetsRampart(ctx, client, name, region, aws.ToString(out.Arn))
	if err != nil {
		return nil, "", err
	}
	if !ours {
		return nil, "not re-enabled: the rule targets no Rampart function, so it may not be Rampart's", nil
	}
	return plan(), "re-enabled", nil
}

// targetsRampart reports whether an EventBridge rule sends to a Rampart
// function of its own account and region.
func targetsRampart(ctx context.Context, client *eventbridge.Client, name, region, ruleARN string) (bool, error) {
	acct := ""
	if a, err := arn.Parse(ruleARN); err == nil {
		acct, region = a.AccountID, a.Region
	}
	var token *string
	for {
		out, err := client.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name), NextToken: token})
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
// reserved concurrency is zero: one read (GetFunctionConcurrency), none
// offline.
func removeZeroConcurrency(ctx context.Context, s *awsclient.Session, name string) (*rule.Action, string, error) {
	plan := func() *rule.Action {
		zero := 0
		undo := rule.NewAction(apiPutConcurrency, name, "reserve zero concurrency again", functionParams{Name: name, Reserved: &zero}, nil)
		a := rule.NewAction(apiDeleteConcurrency, name, "remove the zero reserved concurrency that stops the function", functionParams{Name: name}, &undo)
		return &a
	}
	if s.Offline {
		return plan(), "concurrency reservation removed (as the event implies it is zero)", nil
	}
	out, err := awsclient.Client(s, lambda.NewFromConfig).GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
	switch {
	case awsclient.HasCode(err, "ResourceNotFoundException"):
		return nil, "not restored: the function is gone; redeploy Rampart", nil
	case err != nil:
		return nil, "", fmt.Errorf("get concurrency of %s: %w", name, err)
	}
	if out.ReservedConcurrentExecutions == nil || *out.ReservedConcurrentExecutions != 0 {
		return nil, "the function is no longer at zero concurrency", nil
	}
	return plan(), "concurrency reservation removed", nil
}

// Action params.
type ruleParams struct {
	Name string `json:"name"`
}

type functionParams struct {
	Name     string `json:"functionName"`
	Reserved *int   `json:"reservedConcurrentExecutions,omitempty"`
}

// Apply implements rule.Rule: EnableRule and DeleteFunctionConcurrency, and
// their undos.
func (*guardRule) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
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

// Sweep implements rule.Sweeper: every Rampart EventBridge rule (with its
// state) and every Rampart function of the region, as targets.
func (*guardRule) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	if s.Offline {
		return nil, fmt.Errorf("self-protection: a sweep reads AWS and cannot run offline")
	}
	var out []rule.Target
	eb := awsclient.Client(s, eventbridge.NewFromConfig)
	var token *string
	for {
		page, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String(Prefix), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("list EventBridge rules: %w", err)
		}
		for _, r := range page.Rules {
			out = append(out, rule.Target{Type: typeEventRule, ID: aws.ToString(r.Name), Region: s.Region, Evidence: swept{State: string(r.State)}})
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	fns := lambda.NewListFunctionsPaginator(awsclient.Client(s, lambda.NewFromConfig), &lambda.ListFunctionsInput{})
	for fns.HasMorePages() {
		page, err := fns.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list functions: %w", err)
		}
		for _, f := range page.Functions {
			if name := aws.ToString(f.FunctionName); strings.HasPrefix(name, Prefix) {
				out = append(out, rule.Target{Type: typeFunction, ID: name, Region: s.Region, Evidence: swept{}})
			}
		}
	}
	return out, nil
}

// judgeSwept decides a swept rule or function: a disabled Rampart rule or a
// function at zero concurrency is a violation (who did it is unknown: the
// event was lost or came before Rampart); the same restorations apply.
func judgeSwept(ctx context.Context, s *awsclient.Session, t rule.Target, sw swept) (rule.Finding, error) {
	kind := kinds[t.Type]
	var fix *rule.Action
	var note string
	var err error
	switch t.Type {
	case typeEventRule:
		if sw.State != string(ebtypes.RuleStateDisabled) {
			return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("Rampart's %s %s is %s", kind, t.ID, sw.State)}, nil
		}
		fix, note, err = enableRule(ctx, s, t.ID, t.Region)
	case typeFunction:
		fix, note, err = removeZeroConcurrency(ctx, s, t.ID)
	}
	if err != nil {
		return rule.Finding{}, err
	}
	if fix == nil {
		if t.Type == typeFunction || strings.HasPrefix(note, "the rule is") {
			return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("Rampart's %s %s is in service", kind, t.ID)}, nil
		}
		return rule.Finding{Verdict: rule.NotApplicable, Reason: fmt.Sprintf("%s %s is disabled; %s", kind, t.ID, note)}, nil
	}
	what := "is disabled"
	if t.Type == typeFunction {
		what = "has zero reserved concurrency: it never runs"
	}
	msg := fmt.Sprintf("Rampart's %s %s %s (found by the sweep)", kind, t.ID, what)
	return rule.Finding{Verdict: rule.Violation, Reason: msg + "; " + note, Actions: []rule.Action{rule.Alert(t.ID, msg), *fix}}, nil
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *guardRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
