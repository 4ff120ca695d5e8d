// Package rootaccesskeys holds root-access-keys: the account's root user has no
// access keys. No API lets anyone but the root user remove them, so the rule
// alerts: at once when CloudTrail records the root user creating a key
// (CreateAccessKey, delivered in us-east-1), and on a daily sweep.
//
// Both paths judge the current state from iam:GetAccountSummary
// (AccountAccessKeysPresent), which is live, unlike the credential report. A
// create event whose key is already gone when Rampart looks is compliant —
// the reason keeps what was created, when and from where. That leaves no
// silent path: a root user creating a key from the console has signed in as
// root, which console-signin alerts on, and one creating it through the API
// already holds a key, which this rule alerts on.
//
// The package reads the account summary only; it changes nothing.
package rootaccesskeys

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the account: the root user is not an IAM user.
const ResourceType = "AWS::::Account"

// TargetID names the root user in decisions and exemptions, whatever the
// account.
const TargetID = "root"

// Rule is root-access-keys.
var Rule = rule.Define(rule.Spec[keys, struct{}]{
	Meta:    &meta,
	Targets: func(call *trigger.APICall, _ struct{}) ([]rule.Target, error) { return targets(call) },
	Observe: func(ctx context.Context, env rule.Env, _ rule.Target, _ struct{}) (keys, error) {
		present, err := keysPresent(ctx, awsclient.Client(env.Session, iam.NewFromConfig))
		return keys{Present: present}, err
	},
	Plan:  plan,
	Judge: judgeTarget,
	Sweep: sweep,
})

// keys is the state the rule judges: whether the root user has an access
// key, and how that is known when not read live.
type keys struct {
	Present bool
	Note    string
}

var meta = rule.Meta{
	ID:           "root-access-keys",
	Title:        "The root user has no access keys",
	Severity:     rule.Critical,
	Rationale:    "A root access key is a password-less, MFA-less credential that can do anything in the account, including closing it, and cannot be restricted by any policy (CIS AWS Foundations 1.4).",
	Remediation:  "Alerts at once when the root user creates an access key, and daily while any exists; only the root user can delete them.",
	ResourceType: ResourceType,
	Function:     "iam",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "iam.amazonaws.com", Events: []string{"CreateAccessKey"},
		Region: "us-east-1"}},
	Schedule:    "rate(1 day)",
	Global:      true,
	ReadActions: []string{"iam:GetAccountSummary"},
	// The alert is the remediation; the engine publishes it.
	WriteActions: []string{rule.AlertAPI},

	ListExemptionsOnly: true, // guards the audit trail: only the checked-in list exempts
}

// created is what a root CreateAccessKey record says.
type created struct {
	KeyID    string
	When     string
	SourceIP string
	RootARN  string
}

// targets names the root user, when the root user created an
// access key for itself. A key the root user creates for an IAM user
// (requestParameters.userName) is that user's, not root's.
func targets(call *trigger.APICall) ([]rule.Target, error) {
	if call.EventName != "CreateAccessKey" || call.Actor.Type != "Root" {
		return nil, nil
	}
	var req struct {
		UserName string `json:"userName"`
	}
	if err := decodeObject(call.Request, &req); err != nil {
		return nil, fmt.Errorf("%w: CreateAccessKey requestParameters: %w", trigger.ErrInput, err)
	}
	if req.UserName != "" {
		return nil, nil
	}
	var resp struct {
		AccessKey struct {
			AccessKeyID string `json:"accessKeyId"`
		} `json:"accessKey"`
	}
	if err := decodeObject(call.Response, &resp); err != nil {
		return nil, fmt.Errorf("%w: CreateAccessKey responseElements: %w", trigger.ErrInput, err)
	}
	ev := created{KeyID: resp.AccessKey.AccessKeyID, When: call.Time.UTC().Format("2006-01-02 15:04:05 MST"), SourceIP: call.SourceIP, RootARN: call.Actor.ARN}
	if ev.KeyID == "" {
		ev.KeyID = "(ID not recorded)"
	}
	return []rule.Target{{Type: ResourceType, ID: TargetID, Region: call.Region, Evidence: ev}}, nil
}

func decodeObject(raw json.RawMessage, v any) error {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil
	}
	if !strings.HasPrefix(s, "{") {
		return fmt.Errorf("not a JSON object: %.40s", s)
	}
	return json.Unmarshal(raw, v)
}

// plan is the offline planner: a create event alone implies the key.
func plan(t rule.Target, _ struct{}) (keys, error) {
	if _, ok := t.Evidence.(created); ok {
		return keys{Present: true, Note: "as the event implies"}, nil
	}
	return keys{}, rule.Undecided("only a CreateAccessKey event can be judged without AWS")
}

// judgeTarget judges the state, with what the create event said if one
// named the target.
func judgeTarget(k keys, t rule.Target, _ struct{}, _ rule.Facts) rule.Finding {
	var ev *created
	if c, ok := t.Evidence.(created); ok {
		ev = &c
	}
	return judge(k.Present, ev, k.Note)
}

// judge is the rule.
func judge(present bool, ev *created, note string) rule.Finding {
	what := ""
	resource := ""
	if ev != nil {
		what = fmt.Sprintf("the root user created access key %s at %s", ev.KeyID, ev.When)
		if ev.SourceIP != "" {
			what += " from " + ev.SourceIP
		}
		resource = ev.RootARN
	}
	if !present {
		reason := "the root user has no access keys"
		if what != "" {
			reason = what + ", but " + reason + " now: it has been deleted since — review what it was used for"
		}
		return rule.Finding{Verdict: rule.Compliant, Reason: reason, Resource: resource}
	}
	reason := "the root user has an access key; only the root user can delete it (Security credentials page, signed in as root)"
	if what != "" {
		reason = what + "; " + reason
	}
	if note != "" {
		reason += " (" + note + ")"
	}
	return rule.Finding{Verdict: rule.Violation, Reason: reason, Resource: resource,
		Actions: []rule.Action{rule.Alert(TargetID, reason)}}
}

// summaryAPI is what the rule reads of IAM.
type summaryAPI interface {
	GetAccountSummary(context.Context, *iam.GetAccountSummaryInput, ...func(*iam.Options)) (*iam.GetAccountSummaryOutput, error)
}

// keysPresent reads AccountAccessKeysPresent from the account summary.
func keysPresent(ctx context.Context, api summaryAPI) (bool, error) {
	out, err := api.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		return false, fmt.Errorf("get account summary: %w", err)
	}
	n, ok := out.SummaryMap[string(iamtypes.SummaryKeyTypeAccountAccessKeysPresent)]
	if !ok {
		return false, fmt.Errorf("get account summary: no %s in the summary", iamtypes.SummaryKeyTypeAccountAccessKeysPresent)
	}
	return n > 0, nil
}

// sweep reads the account summary: one call, one target.
func sweep(ctx context.Context, env rule.Env, _ struct{}) ([]rule.Target, error) {
	present, err := keysPresent(ctx, awsclient.Client(env.Session, iam.NewFromConfig))
	if err != nil {
		return nil, err
	}
	return []rule.Target{{Type: ResourceType, ID: TargetID, Region: env.Session.Region, State: keys{Present: present}}}, nil
}
