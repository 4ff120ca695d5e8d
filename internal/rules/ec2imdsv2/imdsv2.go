// Package ec2imdsv2 holds ec2-imdsv2-required: every EC2 instance requires
// session tokens for its instance metadata service (IMDSv2; AWS's managed
// rule "ec2-imdsv2-check", Security Hub control EC2.8).
//
// With IMDSv1 allowed, any server-side request forgery in software on the
// instance can read the instance role's credentials with one unauthenticated
// GET. The rule judges a new instance seconds after it starts running (the
// EC2 state-change event), a ModifyInstanceMetadataOptions call that turns
// tokens back to optional, and every instance through Config. The fix is
// one ModifyInstanceMetadataOptions setting HttpTokens to required, undone
// by setting it back to what it was; nothing else of the metadata options
// changes. An instance whose metadata endpoint is off is compliant (nothing
// answers at all), and AWS refuses HttpTokens on it anyway.
package ec2imdsv2

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/instances"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/tagmap"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ID is the rule's ID.
const ID = "ec2-imdsv2-required"

const (
	apiDescribe = "ec2:DescribeInstances"
	// APIModify is the remediation and its undo.
	APIModify = "ec2:ModifyInstanceMetadataOptions"

	tokensRequired  = string(ec2types.HttpTokensStateRequired)
	tokensOptional  = string(ec2types.HttpTokensStateOptional)
	endpointOff     = string(ec2types.InstanceMetadataEndpointStateDisabled)
	eventModify     = "ModifyInstanceMetadataOptions"
	sourceEC2       = "ec2.amazonaws.com"
	stateTerminated = string(ec2types.InstanceStateNameTerminated)
	stateShutting   = string(ec2types.InstanceStateNameShuttingDown)
)

// Rule is ec2-imdsv2-required.
var Rule = rule.Define(rule.Spec[instance, struct{}]{
	Meta:     &meta,
	Targets:  func(call *trigger.APICall, _ struct{}) ([]rule.Target, error) { return targets(call) },
	OnEvent:  func(ev *trigger.Event, _ struct{}) ([]rule.Target, error) { return rule.RunningInstance(ev) },
	Observe:  instances.Observe[instance, struct{}](fromSDK),
	FromItem: func(item *trigger.ConfigItem, _ struct{}) (instance, error) { return fromItem(item) },
	Plan:     func(t rule.Target, _ struct{}) (instance, error) { return plan(t) },
	Judge:    judge,
	Apply:    func(ctx context.Context, env rule.Env, a rule.Action) error { return apply(ctx, env.Session, a) },
	Sweep:    instances.Sweep[instance, struct{}](fromSDK),
})

var meta = rule.Meta{
	ID:       ID,
	Title:    "EC2 instances require IMDSv2",
	Severity: rule.High,
	Rationale: "With IMDSv1 allowed, one server-side request forgery in any software on the instance reads the instance role's credentials " +
		"with a plain GET; IMDSv2's session tokens need a PUT with a hop limit, which such forgeries and open proxies cannot make.",
	Remediation: "Sets HttpTokens to required with ModifyInstanceMetadataOptions (undo: back to optional); the rest of the metadata options are kept. " +
		"An instance whose metadata endpoint is off is compliant.",
	ResourceType: rule.InstanceType,
	Function:     "ec2",
	CloudTrail:   []rule.CloudTrailTrigger{{Source: sourceEC2, Events: []string{eventModify}}},
	Config:       &rule.ConfigTrigger{ResourceTypes: []string{rule.InstanceType}, Frequency: rule.TwentyFourHour},
	Events:       []rule.EventTrigger{rule.EC2InstanceRunning},
	ReadActions:  []string{apiDescribe},
	WriteActions: []string{APIModify},
}

// instance is what the rule judges of an instance.
type instance struct {
	State    string
	Tokens   string // HttpTokens: required or optional
	Endpoint string // HttpEndpoint: enabled or disabled
	Tags     map[string]string
}

// params are an action's parameters.
type params struct {
	InstanceID string `json:"instanceId"`
	HTTPTokens string `json:"httpTokens"`
}

// judge decides one instance: pure.
func judge(i instance, t rule.Target, _ struct{}, _ rule.Facts) rule.Finding {
	f := rule.Finding{Tags: i.Tags}
	switch {
	case i.State == stateTerminated || i.State == stateShutting:
		f.Verdict, f.Reason = rule.NotApplicable, "the instance is "+i.State
	case i.Endpoint == endpointOff:
		f.Verdict, f.Reason = rule.Compliant, "the instance metadata endpoint is off"
	case i.Tokens == tokensRequired:
		f.Verdict, f.Reason = rule.Compliant, "the instance metadata service requires session tokens (IMDSv2)"
	default:
		was := i.Tokens
		if was == "" {
			was = tokensOptional
		}
		f.Verdict = rule.Violation
		f.Reason = fmt.Sprintf("the instance metadata service answers without a session token (HttpTokens %s): IMDSv1 hands out the role's credentials to any request forgery", was)
		undo := rule.NewAction(APIModify, t.ID, "allow IMDSv1 again (HttpTokens "+was+")", params{InstanceID: t.ID, HTTPTokens: was}, nil)
		f.Actions = []rule.Action{rule.NewAction(APIModify, t.ID, "require IMDSv2 session tokens", params{InstanceID: t.ID, HTTPTokens: tokensRequired}, &undo)}
	}
	return f
}

// modifyRequest is ModifyInstanceMetadataOptions' requestParameters: nested
// under ModifyInstanceMetadataOptionsRequest as CloudTrail records it (field
// names match case-insensitively, so the flat form decodes too).
type modifyRequest struct {
	InstanceID string `json:"InstanceId"`
	HTTPTokens string `json:"HttpTokens"`
	Endpoint   string `json:"HttpEndpoint"`
}

// targets names the instance a ModifyInstanceMetadataOptions call changed,
// with what the call set as evidence.
func targets(call *trigger.APICall) ([]rule.Target, error) {
	if call.EventName != eventModify {
		return nil, nil
	}
	var req struct {
		Wrapped *modifyRequest `json:"ModifyInstanceMetadataOptionsRequest"`
		modifyRequest
	}
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return nil, fmt.Errorf("%w: %s requestParameters: %w", trigger.ErrInput, eventModify, err)
	}
	r := req.modifyRequest
	if req.Wrapped != nil {
		r = *req.Wrapped
	}
	if r.InstanceID == "" {
		return nil, fmt.Errorf("%w: %s requestParameters name no instance", trigger.ErrInput, eventModify)
	}
	return []rule.Target{{Type: rule.InstanceType, ID: r.InstanceID, Region: call.Region, Evidence: r}}, nil
}

// plan is the offline state: what the call itself set. A call that turned
// tokens to optional is a violation whatever else holds; any other call
// needs the instance's current options.
func plan(t rule.Target) (instance, error) {
	r, ok := t.Evidence.(modifyRequest)
	if !ok || r.HTTPTokens != tokensOptional || r.Endpoint == endpointOff {
		return instance{}, rule.Undecided("the instance's metadata options are read by a live run")
	}
	return instance{Tokens: tokensOptional, Endpoint: r.Endpoint}, nil
}

func fromSDK(in ec2types.Instance) instance {
	i := instance{Tags: tagmap.EC2(in.Tags)}
	if in.State != nil {
		i.State = string(in.State.Name)
	}
	if o := in.MetadataOptions; o != nil {
		i.Tokens, i.Endpoint = string(o.HttpTokens), string(o.HttpEndpoint)
	}
	return i
}

// fromItem reads a Config configuration item of an instance.
func fromItem(item *trigger.ConfigItem) (instance, error) {
	var c struct {
		State struct {
			Name string `json:"name"`
		} `json:"state"`
		MetadataOptions *struct {
			HTTPTokens   string `json:"httpTokens"`
			HTTPEndpoint string `json:"httpEndpoint"`
		} `json:"metadataOptions"`
	}
	if err := json.Unmarshal(item.Configuration, &c); err != nil {
		return instance{}, fmt.Errorf("%w: instance configuration: %w", trigger.ErrInput, err)
	}
	if c.MetadataOptions == nil {
		return instance{}, rule.Undecided("the configuration item carries no metadata options")
	}
	return instance{State: c.State.Name, Tokens: c.MetadataOptions.HTTPTokens, Endpoint: c.MetadataOptions.HTTPEndpoint, Tags: item.Tags}, nil
}

// apply sets one instance's HttpTokens, and nothing else of its options.
func apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	var p params
	if err := a.Decode(&p); err != nil {
		return err
	}
	if a.API != APIModify || p.InstanceID == "" || (p.HTTPTokens != tokensRequired && p.HTTPTokens != tokensOptional) {
		return fmt.Errorf("%s cannot apply %s with %+v", ID, a.API, p)
	}
	// HttpEndpoint=enabled restates what the instance has (the rule acts
	// only while the endpoint is on): AWS refuses HttpTokens in a request
	// that does not say the endpoint is enabled when it is not, and keeps
	// every option the request leaves out. (moto 5.2.1 resets the options
	// left out — the hop limit to 1 — where AWS keeps them.)
	_, err := awsclient.Client(s, ec2.NewFromConfig).ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
		InstanceId: aws.String(p.InstanceID), HttpTokens: ec2types.HttpTokensState(p.HTTPTokens),
		HttpEndpoint: ec2types.InstanceMetadataEndpointStateEnabled})
	if err != nil {
		return fmt.Errorf("%s %s: %w", APIModify, p.InstanceID, err)
	}
	return nil
}
