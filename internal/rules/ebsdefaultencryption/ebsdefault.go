// Package ebsdefaultencryption holds ebs-default-encryption: EBS encryption by default
// stays on in every region (with the deployment's default KMS key when it
// names one), so every new volume and snapshot copy is encrypted.
//
// It owns the one implementation of planning and applying the region's
// default-encryption setting (Plan, Apply). It makes no other change:
// existing volumes are never touched.
package ebsdefaultencryption

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the Config type of account-level rules.
const ResourceType = "AWS::::Account"

// IAM actions, as plans name them.
const (
	APIEnable    = "ec2:EnableEbsEncryptionByDefault"
	APIDisable   = "ec2:DisableEbsEncryptionByDefault"
	APIModifyKey = "ec2:ModifyEbsDefaultKmsKeyId"
	APIResetKey  = "ec2:ResetEbsDefaultKmsKeyId"
	APIGet       = "ec2:GetEbsEncryptionByDefault"
	APIGetKey    = "ec2:GetEbsDefaultKmsKeyId"
)

// ParamKMS names the KMS key parameter, shared with ebs-attached-encrypted.
const ParamKMS = "kmsKeyId"

// AWSManagedKey is what GetEbsDefaultKmsKeyId reports when no customer key
// is set: the AWS-managed key for EBS.
const AWSManagedKey = "alias/aws/ebs"

// Compiled on first use, not at every cold start: bounded repetitions
// compile into as many copies.
var (
	keyIDPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	})
	keyARNPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(.+)$`) })
)

// CheckKey validates a kmsKeyId parameter: empty (any key), a key ID or a
// key ARN. Aliases are refused: volumes and the EBS default record the key's
// ARN, and resolving an alias would need kms:DescribeKey on every evaluation.
func CheckKey(s string) error {
	if s == "" || keyIDPattern().MatchString(s) {
		return nil
	}
	if m := keyARNPattern().FindStringSubmatch(s); m != nil && keyIDPattern().MatchString(m[1]) {
		return nil
	}
	return fmt.Errorf("want a KMS key ID or key ARN (aliases are not accepted)")
}

// KeyMatches reports whether actual (a key ARN or ID, as AWS reports it)
// is the wanted key (an ID or ARN). An empty want matches any key.
func KeyMatches(actual, want string) bool {
	if want == "" {
		return true
	}
	if actual == want {
		return true
	}
	return keyID(actual) != "" && keyID(actual) == keyID(want)
}

func keyID(s string) string {
	if m := keyARNPattern().FindStringSubmatch(s); m != nil {
		return m[1]
	}
	if keyIDPattern().MatchString(s) {
		return s
	}
	return ""
}

// State is a region's EBS default-encryption setting: what the rule judges.
type State struct {
	Enabled bool
	// Key is the default KMS key; read only when a key is wanted.
	Key string
}

// settingAPI is what the rule reads of EC2.
type settingAPI interface {
	GetEbsEncryptionByDefault(context.Context, *ec2.GetEbsEncryptionByDefaultInput, ...func(*ec2.Options)) (*ec2.GetEbsEncryptionByDefaultOutput, error)
	GetEbsDefaultKmsKeyId(context.Context, *ec2.GetEbsDefaultKmsKeyIdInput, ...func(*ec2.Options)) (*ec2.GetEbsDefaultKmsKeyIdOutput, error)
}

// read reads the region's setting. The default key is read only when
// wantKey is set, so a deployment that names no key needs one call.
func read(ctx context.Context, api settingAPI, wantKey bool) (State, error) {
	out, err := api.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		return State{}, fmt.Errorf("read EBS encryption by default: %w", err)
	}
	st := State{Enabled: aws.ToBool(out.EbsEncryptionByDefault)}
	if wantKey {
		// moto 5.2.1 does not implement GetEbsDefaultKmsKeyId (it answers 500):
		// the key comparison is unit-tested; see the package tests.
		k, err := api.GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{})
		if err != nil {
			return State{}, fmt.Errorf("read the EBS default KMS key: %w", err)
		}
		st.Key = aws.ToString(k.KmsKeyId)
	}
	return st, nil
}

// Params are the params of every action Plan makes.
type Params struct {
	Region string `json:"region"`
	// KmsKeyID is the key ModifyEbsDefaultKmsKeyId sets.
	KmsKeyID string `json:"kmsKeyId,omitempty"`
}

// Plan is the actions that bring st to encryption on with the wanted key
// (empty: any key). It is pure; no action means compliant.
func Plan(region string, st State, want string) []rule.Action {
	var out []rule.Action
	p := Params{Region: region}
	if !st.Enabled {
		undo := rule.NewAction(APIDisable, region, "turn EBS encryption by default off again", p, nil)
		out = append(out, rule.NewAction(APIEnable, region, "turn EBS encryption by default on in "+region, p, &undo))
	}
	if want != "" && !KeyMatches(st.Key, want) {
		var undo rule.Action
		if st.Key == "" || st.Key == AWSManagedKey {
			undo = rule.NewAction(APIResetKey, region, "go back to the AWS-managed key for EBS", p, nil)
		} else {
			undo = rule.NewAction(APIModifyKey, region, "restore the previous default key "+st.Key, Params{Region: region, KmsKeyID: st.Key}, nil)
		}
		out = append(out, rule.NewAction(APIModifyKey, region, "make "+want+" the default EBS key in "+region,
			Params{Region: region, KmsKeyID: want}, &undo))
	}
	return out
}

// Describe says what is wrong with st, for reasons; "" when nothing is.
func Describe(st State, want string) string {
	var parts []string
	if !st.Enabled {
		parts = append(parts, "EBS encryption by default is off")
	}
	if want != "" && !KeyMatches(st.Key, want) {
		cur := st.Key
		if cur == "" {
			cur = "unknown"
		}
		parts = append(parts, fmt.Sprintf("the default EBS key is %s, not %s", cur, want))
	}
	return strings.Join(parts, "; ")
}

// Apply carries out one action of a Plan, or its undo.
func Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	var p Params
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.Region != "" && p.Region != s.Region {
		return fmt.Errorf("%s: the action is for %s but this session is in %s", a.API, p.Region, s.Region)
	}
	client := awsclient.Client(s, ec2.NewFromConfig)
	var err error
	switch a.API {
	case APIEnable:
		_, err = client.EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
	case APIDisable:
		_, err = client.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{})
	case APIModifyKey:
		if p.KmsKeyID == "" {
			return fmt.Errorf("%s: params need kmsKeyId", a.API)
		}
		_, err = client.ModifyEbsDefaultKmsKeyId(ctx, &ec2.ModifyEbsDefaultKmsKeyIdInput{KmsKeyId: aws.String(p.KmsKeyID)})
	case APIResetKey:
		_, err = client.ResetEbsDefaultKmsKeyId(ctx, &ec2.ResetEbsDefaultKmsKeyIdInput{})
	default:
		return fmt.Errorf("ebsdefault cannot apply %s", a.API)
	}
	if err != nil {
		return fmt.Errorf("%s in %s: %w", a.API, s.Region, err)
	}
	return nil
}

// --- the rule ---------------------------------------------------------------

// Rule is ebs-default-encryption.
var Rule = rule.Define(rule.Spec[State, params]{
	Meta:    &meta,
	Parse:   parse,
	Targets: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   judge,
	Apply:   func(ctx context.Context, env rule.Env, a rule.Action) error { return Apply(ctx, env.Session, a) },
	Sweep:   sweep,
})

// params are the rule's typed parameters.
type params struct {
	// Key is the KMS key ID or ARN that must be the default key; empty
	// accepts any key.
	Key string
}

func parse(p rule.Params) (params, error) { return params{Key: p[ParamKMS]}, nil }

var meta = rule.Meta{
	ID:        "ebs-default-encryption",
	Title:     "EBS encryption by default is on in every region",
	Severity:  rule.Medium,
	Rationale: "With encryption by default on, every new EBS volume and snapshot copy is encrypted whatever tool creates it; turning it off silently lets unencrypted data volumes appear.",
	Remediation: "Turns EBS encryption by default back on and, when the deployment names a KMS key, makes it the default key again; " +
		"existing volumes are not touched.",
	ResourceType:        ResourceType,
	Function:            "ec2",
	SecurityHubControls: []string{"EC2.7"},
	CloudTrail: []rule.CloudTrailTrigger{{Source: "ec2.amazonaws.com",
		Events: []string{"DisableEbsEncryptionByDefault", "ModifyEbsDefaultKmsKeyId", "ResetEbsDefaultKmsKeyId"}}},
	Config: &rule.ConfigTrigger{Frequency: rule.TwentyFourHour},
	Params: []rule.Param{
		{Name: ParamKMS, Default: "", Description: "KMS key ID or key ARN that must be the default EBS key (empty: any key, the AWS-managed one included)", Check: CheckKey},
	},
	// The account comes from the session (resolved once per cold start):
	// the rule itself makes no sts:GetCallerIdentity call.
	ReadActions:  []string{APIGet, APIGetKey},
	WriteActions: []string{APIEnable, APIModifyKey},
	// The default key is set only to the key the deployment names.
	ParamWrites: []rule.ParamWrite{{Actions: []string{APIModifyKey}, When: []string{ParamKMS}}},
}

// evidence is what the call set.
type evidence struct {
	Event string
	// Key is the key ModifyEbsDefaultKmsKeyId set, AWSManagedKey after a
	// reset, "" when the event does not say.
	Key string
}

type modifyRequest struct {
	KmsKeyID string `json:"KmsKeyId"`
}

// targets names the region's setting of the recipient account.
func targets(call *trigger.APICall, _ params) ([]rule.Target, error) {
	ev := evidence{Event: call.EventName}
	switch call.EventName {
	case "DisableEbsEncryptionByDefault":
	case "ResetEbsDefaultKmsKeyId":
		ev.Key = AWSManagedKey
	case "ModifyEbsDefaultKmsKeyId":
		// CloudTrail nests newer EC2 requests under <Action>Request; field
		// names match case-insensitively, so the flat form decodes too.
		var req struct {
			Wrapped *modifyRequest `json:"ModifyEbsDefaultKmsKeyIdRequest"`
			modifyRequest
		}
		if len(call.Request) > 0 && string(call.Request) != "null" {
			if err := json.Unmarshal(call.Request, &req); err != nil {
				return nil, fmt.Errorf("%w: ModifyEbsDefaultKmsKeyId requestParameters: %w", trigger.ErrInput, err)
			}
		}
		ev.Key = req.KmsKeyID
		if req.Wrapped != nil {
			ev.Key = req.Wrapped.KmsKeyID
		}
	default:
		return nil, nil
	}
	account := call.Account
	if account == "" {
		account = call.Actor.AccountID
	}
	if account == "" || call.Region == "" {
		return nil, fmt.Errorf("%w: %s names no account or region", trigger.ErrInput, call.EventName)
	}
	return []rule.Target{{Type: ResourceType, ID: account, Region: call.Region, Evidence: ev}}, nil
}

// observe reads the setting of the session's region (the target's).
func observe(ctx context.Context, env rule.Env, t rule.Target, p params) (State, error) {
	if t.Region != "" && t.Region != env.Session.Region {
		return State{}, fmt.Errorf("the setting is in %s but this session is in %s", t.Region, env.Session.Region)
	}
	return read(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), p.Key != "")
}

// plan is the state the call left behind, offline; what it did not touch
// is taken as compliant.
func plan(t rule.Target, p params) (State, error) {
	ev, ok := t.Evidence.(evidence)
	if !ok {
		return State{}, rule.Undecided("the trigger says nothing about the setting")
	}
	st := State{Enabled: ev.Event != "DisableEbsEncryptionByDefault", Key: p.Key}
	if ev.Key != "" {
		st.Key = ev.Key
	}
	return st, nil
}

// judge decides the region's setting and plans the fix.
func judge(st State, t rule.Target, p params, f rule.Facts) rule.Finding {
	region := t.Region
	if region == "" {
		region = f.Region
	}
	acts := Plan(region, st, p.Key)
	if len(acts) == 0 {
		reason := "EBS encryption by default is on in " + region
		if p.Key != "" {
			reason += " with the default key " + p.Key
		}
		return rule.Finding{Verdict: rule.Compliant, Reason: reason}
	}
	return rule.Finding{Verdict: rule.Violation, Reason: Describe(st, p.Key) + " in " + region + ": new volumes may be unencrypted", Actions: acts}
}

// sweep names the one setting of the session's region, by the account the
// session acts in (the Config resource of AWS::::Account), resolved once
// per cold start.
func sweep(_ context.Context, env rule.Env, _ params) ([]rule.Target, error) {
	f := env.Facts()
	if !awsclient.ValidAccount(f.Account) {
		return nil, fmt.Errorf("sweep %s: the session's account is not known (%q)", meta.ID, f.Account)
	}
	return []rule.Target{{Type: ResourceType, ID: f.Account, Region: f.Region}}, nil
}
