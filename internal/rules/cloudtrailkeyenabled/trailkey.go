// Package cloudtrailkeyenabled holds cloudtrail-key-enabled: the KMS key
// that encrypts a trail's logs stays enabled and is never left pending
// deletion. Disabling the key silences the trail as surely as StopLogging
// (CloudTrail can no longer write), and deleting it makes every log file it
// encrypted unreadable for good.
//
// DisableKey and ScheduleKeyDeletion are only the cue to look: the key's
// current state is judged, and only for the keys that matter — the key a
// trail of the account uses (DescribeTrails, shadow trails included) or the
// key the deployment names. Any other key is not this rule's business. An
// hourly sweep judges every such key of the region.
//
// It owns kms:EnableKey and kms:CancelKeyDeletion on those keys and makes
// no other change (key policies, rotation and aliases are left alone).
package cloudtrailkeyenabled

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the key's CloudFormation type.
const ResourceType = "AWS::KMS::Key"

// IAM actions, as plans name them.
const (
	APIEnable   = "kms:EnableKey"
	APIDisable  = "kms:DisableKey"
	APICancel   = "kms:CancelKeyDeletion"
	APISchedule = "kms:ScheduleKeyDeletion"
	APIDescribe = "kms:DescribeKey"
	APITrails   = "cloudtrail:DescribeTrails"
)

// ParamKey names the deployment's trail key parameter.
const ParamKey = "kmsKeyArn"

// DefaultWindow is the pending window the undo of a cancellation schedules
// when the key did not say its own: the longest AWS allows, the safest.
const DefaultWindow = 30

// Rule is cloudtrail-key-enabled.
var Rule = rule.Define(rule.Spec[State, Params]{
	Meta:    &meta,
	Parse:   Parse,
	Targets: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   Judge,
	Apply:   apply,
	Sweep:   sweep,
})

var meta = rule.Meta{
	ID:       "cloudtrail-key-enabled",
	Title:    "The KMS key of the CloudTrail logs stays enabled",
	Severity: rule.Critical,
	Rationale: "Disabling the key a trail encrypts with stops CloudTrail from delivering logs, and scheduling its deletion will make every log it " +
		"encrypted unreadable: both blind the audit trail without touching it.",
	Remediation: "Cancels the key's scheduled deletion and enables it again (a cancelled key stays disabled until enabled); " +
		"only for a key a trail of the account uses or the key the deployment names; alerts on states it cannot fix.",
	ResourceType: ResourceType,
	Function:     "cloudtrail",
	CloudTrail:   []rule.CloudTrailTrigger{{Source: "kms.amazonaws.com", Events: []string{"DisableKey", "ScheduleKeyDeletion"}}},
	Schedule:     "rate(1 hour)",
	Params: []rule.Param{
		{Name: ParamKey, Default: "", Description: "ARN of the KMS key the trail encrypts with, guarded even while no trail uses it (e.g. cloudtrail-integrity's kmsKeyId as an ARN); " +
			"unset: the keys the account's trails use", Check: checkKey},
	},
	ReadActions:  []string{APITrails, APIDescribe},
	WriteActions: []string{APIEnable, APICancel},

	ListExemptionsOnly: true, // guards the audit trail: only the checked-in list exempts
}

// Params are the rule's typed parameters.
type Params struct {
	// Key is the deployment's trail key ARN; "" when none is named.
	Key string
}

// keyARN parses a KMS key ARN; ok is false for anything else (an alias
// ARN, a key ID).
func keyARN(s string) (arn.ARN, bool) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "kms" || !strings.HasPrefix(a.Resource, "key/") || len(a.Resource) == len("key/") || a.Region == "" || a.AccountID == "" {
		return arn.ARN{}, false
	}
	return a, true
}

// checkKey accepts a key ARN (no alias, no bare ID: the key's region and
// account must be known for the sweep of each region to find it).
func checkKey(s string) error {
	if s == "" {
		return nil
	}
	if _, ok := keyARN(s); !ok {
		return errors.New("want a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); aliases and bare key IDs are not accepted")
	}
	return nil
}

// Parse reads the resolved parameters.
func Parse(p rule.Params) (Params, error) {
	if err := checkKey(p[ParamKey]); err != nil {
		return Params{}, fmt.Errorf("%s: parameter %s: %w", meta.ID, ParamKey, err)
	}
	return Params{Key: p[ParamKey]}, nil
}

// State is what the rule judges of one key.
type State struct {
	// Guarded: a trail uses the key, or the deployment names it.
	Guarded bool
	// Trails are the trails that use the key (names), for the reason.
	Trails []string
	// KeyState is KMS's (Enabled, Disabled, PendingDeletion, …).
	KeyState string
	// Window is the pending-deletion window in days, when KMS says it.
	Window int32
}

// DeleteParams are the params of the ScheduleKeyDeletion undo.
type DeleteParams struct {
	KeyID  string `json:"keyId"`
	Window int32  `json:"pendingWindowInDays"`
}

// KeyParams are the params of the other actions.
type KeyParams struct {
	KeyID string `json:"keyId"`
}

// Judge decides one key from its state and plans its restoration. Pure.
func Judge(st State, t rule.Target, p Params, _ rule.Facts) rule.Finding {
	key := t.ID
	if !st.Guarded {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "key " + key + " encrypts no trail of the account and is not the deployment's trail key"}
	}
	whose := "the trail key " + key
	if len(st.Trails) > 0 {
		whose = fmt.Sprintf("key %s (of trail %s)", key, strings.Join(st.Trails, ", "))
	}
	enable := func() rule.Action {
		undo := rule.NewAction(APIDisable, key, "disable the key again", KeyParams{key}, nil)
		return rule.NewAction(APIEnable, key, "enable "+whose, KeyParams{key}, &undo)
	}
	switch st.KeyState {
	case string(kmstypes.KeyStateEnabled):
		return rule.Finding{Verdict: rule.Compliant, Reason: whose + " is enabled"}
	case string(kmstypes.KeyStateDisabled):
		return rule.Finding{Verdict: rule.Violation, Reason: whose + " is disabled: CloudTrail cannot encrypt, so no log is delivered",
			Actions: []rule.Action{enable()}}
	case string(kmstypes.KeyStatePendingDeletion):
		w := st.Window
		if w == 0 {
			w = DefaultWindow
		}
		undo := rule.NewAction(APISchedule, key, fmt.Sprintf("schedule the key's deletion again (%d days)", w), DeleteParams{key, w}, nil)
		// CancelKeyDeletion leaves the key disabled: EnableKey follows.
		return rule.Finding{Verdict: rule.Violation, Reason: whose + " is pending deletion: the trail's logs would become unreadable",
			Actions: []rule.Action{rule.NewAction(APICancel, key, "cancel the deletion of "+whose, KeyParams{key}, &undo), enable()}}
	}
	reason := fmt.Sprintf("%s is %s: Rampart cannot restore a key in that state", whose, orUnknown(st.KeyState))
	return rule.Finding{Verdict: rule.Violation, Reason: reason, Actions: []rule.Action{rule.Alert(key, reason)}}
}

func orUnknown(s string) string {
	if s == "" {
		return "in an unknown state"
	}
	return s
}

// --- triggers ---------------------------------------------------------------

// evidence is what the call did to the key.
type evidence struct {
	Event  string
	Window int32
}

// targets is the key the call named, as an ARN.
func targets(call *trigger.APICall, _ Params) ([]rule.Target, error) {
	var req struct {
		KeyID  string `json:"keyId"`
		Window int32  `json:"pendingWindowInDays"`
	}
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return nil, fmt.Errorf("%w: %s requestParameters: %w", trigger.ErrInput, call.EventName, err)
	}
	account := call.Account
	if account == "" {
		account = call.Actor.AccountID
	}
	if req.KeyID == "" || account == "" || call.Region == "" {
		return nil, fmt.Errorf("%w: %s names no key, account or region", trigger.ErrInput, call.EventName)
	}
	id := req.KeyID
	region := call.Region
	if a, ok := keyARN(id); ok {
		region = a.Region
	} else if strings.Contains(id, ":") || strings.HasPrefix(id, "alias/") || strings.Contains(id, "/") {
		return nil, fmt.Errorf("%w: %s keyId %q is neither a key ID nor a key ARN", trigger.ErrInput, call.EventName, id)
	} else {
		id = fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", awsclient.PartitionOf(region), region, account, id)
	}
	return []rule.Target{{Type: ResourceType, ID: id, Region: region, Evidence: evidence{Event: call.EventName, Window: req.Window}}}, nil
}

// plan is the key's state as the call left it, offline. Whether a trail
// uses the key needs DescribeTrails: offline only the deployment's key is
// known to be guarded.
func plan(t rule.Target, p Params) (State, error) {
	ev, ok := t.Evidence.(evidence)
	if !ok {
		return State{}, rule.Undecided("judging a key needs its current state, which a live run reads")
	}
	if !sameKey(t.ID, p.Key) {
		return State{}, rule.Undecided("whether key " + t.ID + " encrypts a trail needs cloudtrail:DescribeTrails, which a live run calls")
	}
	st := State{Guarded: true, KeyState: string(kmstypes.KeyStateDisabled)}
	if ev.Event == "ScheduleKeyDeletion" {
		st.KeyState, st.Window = string(kmstypes.KeyStatePendingDeletion), ev.Window
	}
	return st, nil
}

// sameKey compares two key ARNs (case-sensitively, as KMS does).
func sameKey(a, b string) bool { return a != "" && a == b }

// --- observe, sweep, apply --------------------------------------------------

type trailsAPI interface {
	DescribeTrails(context.Context, *cloudtrail.DescribeTrailsInput, ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
}

type keyAPI interface {
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	EnableKey(context.Context, *kms.EnableKeyInput, ...func(*kms.Options)) (*kms.EnableKeyOutput, error)
	DisableKey(context.Context, *kms.DisableKeyInput, ...func(*kms.Options)) (*kms.DisableKeyOutput, error)
	CancelKeyDeletion(context.Context, *kms.CancelKeyDeletionInput, ...func(*kms.Options)) (*kms.CancelKeyDeletionOutput, error)
	ScheduleKeyDeletion(context.Context, *kms.ScheduleKeyDeletionInput, ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

// trailKeys maps each key ARN the region's trails (shadow copies of
// multi-region trails included) encrypt with to the trails' names.
func trailKeys(ctx context.Context, c trailsAPI) (map[string][]string, error) {
	out, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", APITrails, err)
	}
	keys := map[string][]string{}
	for _, tr := range out.TrailList {
		k := aws.ToString(tr.KmsKeyId)
		if k == "" {
			continue
		}
		if _, ok := keyARN(k); !ok {
			// AWS reports the key ARN; a bare ID is of the trail's own
			// account and region.
			if ta, err := arn.Parse(aws.ToString(tr.TrailARN)); err == nil && !strings.Contains(k, "/") {
				k = fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", ta.Partition, ta.Region, ta.AccountID, k)
			}
		}
		if name := aws.ToString(tr.Name); !slices.Contains(keys[k], name) {
			keys[k] = append(keys[k], name)
		}
	}
	return keys, nil
}

func inRegion(env rule.Env, region string) error {
	if region != "" && region != env.Session.Region {
		return fmt.Errorf("the key is in %s but this session is in %s", region, env.Session.Region)
	}
	return nil
}

// observe reads whether the key is guarded and its state.
func observe(ctx context.Context, env rule.Env, t rule.Target, p Params) (State, error) {
	if err := inRegion(env, t.Region); err != nil {
		return State{}, err
	}
	st := State{Guarded: sameKey(t.ID, p.Key)}
	keys, err := trailKeys(ctx, awsclient.Client(env.Session, cloudtrail.NewFromConfig))
	if err != nil {
		return st, err
	}
	if trails, ok := keys[t.ID]; ok {
		st.Guarded, st.Trails = true, trails
	}
	if !st.Guarded {
		return st, nil // not this rule's key: no need to read it
	}
	out, err := awsclient.Client(env.Session, kms.NewFromConfig).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(t.ID)})
	if awsclient.HasCode(err, "NotFoundException") {
		return st, rule.Gone("key " + t.ID + " no longer exists")
	}
	if err != nil {
		return st, fmt.Errorf("%s %s: %w", APIDescribe, t.ID, err)
	}
	if m := out.KeyMetadata; m != nil {
		st.KeyState, st.Window = string(m.KeyState), aws.ToInt32(m.PendingDeletionWindowInDays)
	}
	return st, nil
}

// sweep names every guarded key of the session's region.
func sweep(ctx context.Context, env rule.Env, p Params) ([]rule.Target, error) {
	keys, err := trailKeys(ctx, awsclient.Client(env.Session, cloudtrail.NewFromConfig))
	if err != nil {
		return nil, err
	}
	if p.Key != "" {
		if _, ok := keys[p.Key]; !ok {
			keys[p.Key] = nil
		}
	}
	var out []rule.Target
	for k := range keys {
		if a, ok := keyARN(k); ok && a.Region == env.Session.Region && (env.Session.Account == "" || a.AccountID == env.Session.Account) {
			out = append(out, rule.Target{Type: ResourceType, ID: k, Region: a.Region})
		}
	}
	slices.SortFunc(out, func(a, b rule.Target) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// apply makes one action of a plan, or its undo.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	var p DeleteParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	k, ok := keyARN(p.KeyID)
	if !ok {
		return fmt.Errorf("%s: params need the key's ARN", a.API)
	}
	if err := inRegion(env, k.Region); err != nil {
		return fmt.Errorf("%s: %w", a.API, err)
	}
	var c keyAPI = awsclient.Client(env.Session, kms.NewFromConfig)
	id := aws.String(p.KeyID)
	if k.AccountID == env.Session.Account {
		// The key ID names the same key in the session's own account and
		// region (checked above). moto 5.2.1 answers 500 to these four
		// calls given a key ARN, which AWS accepts.
		id = aws.String(strings.TrimPrefix(k.Resource, "key/"))
	}
	var err error
	switch a.API {
	case APIEnable:
		_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: id})
	case APIDisable:
		_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: id})
	case APICancel:
		_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id})
	case APISchedule:
		w := p.Window
		if w == 0 {
			w = DefaultWindow
		}
		_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(w)})
	default:
		return fmt.Errorf("cloudtrail-key-enabled cannot apply %s", a.API)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", a.API, p.KeyID, err)
	}
	return nil
}
