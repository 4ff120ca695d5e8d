// Package ebsdefaultencryption holds ebs-default-encryption: EBS encryption by default
// stays on in every region (with the deployment's default KMS key when it
// names one), so every new volume and snapshot copy is encrypted.
//
// It also owns the one implementation of reading, planning and applying the
// region's default-encryption setting: ebs-attached-encrypted remediates the
// cause of an unencrypted volume through Read, Plan and Apply here. It makes
// no other change: existing volumes are never touched.
package ebsdefaultencryption

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

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
	apiIdentity  = "sts:GetCallerIdentity"
)

// ParamKMS names the KMS key parameter, shared with ebs-attached-encrypted.
const ParamKMS = "kmsKeyId"

// AWSManagedKey is what GetEbsDefaultKmsKeyId reports when no customer key
// is set: the AWS-managed key for EBS.
const AWSManagedKey = "alias/aws/ebs"

var (
	keyIDPattern  = regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	keyARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(.+)$`)
)

// CheckKey validates a kmsKeyId parameter: empty (any key), a key ID or a
// key ARN. Aliases are refused: volumes and the EBS default record the key's
// ARN, and resolving an alias would need kms:DescribeKey on every evaluation.
func CheckKey(s string) error {
	if s == "" || keyIDPattern.MatchString(s) {
		return nil
	}
	if m := keyARNPattern.FindStringSubmatch(s); m != nil && keyIDPattern.MatchString(m[1]) {
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
	if m := keyARNPattern.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	if keyIDPattern.MatchString(s) {
		return s
	}
	return ""
}

// State is a region's EBS default-encryption setting.
type State struct {
	Enabled bool
	// Key is the default KMS key; read only when a key is wanted.
	Key string
}

// Read reads the region's setting. The default key is read only when
// wantKey is set, so a deployment that names no key needs one call.
func Read(ctx context.Context, s *awsclient.Session, wantKey bool) (State, error) {
	client := awsclient.Client(s, ec2.NewFromConfig)
	out, err := client.GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		return State{}, fmt.Errorf("read EBS encryption by default: %w", err)
	}
	st := State{Enabled: aws.ToBool(out.EbsEncryptionByDefault)}
	if wantKey {
		// moto 5.2.1 does not implement GetEbsDefaultKmsKeyId (it answers 500):
		// the key comparison is unit-tested; see the package tests.
		k, err := client.GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{})
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

// Handles reports whether Apply carries out api.
func Handles(api string) bool {
	switch api {
	case APIEnable, APIDisable, APIModifyKey, APIResetKey:
		return true
	}
	return false
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

// AccountID is the account the session acts in (resolved once per cold
// start): the resource ID of account-level Config evaluations.
func AccountID(ctx context.Context, s *awsclient.Session) (string, error) {
	return s.AccountID(ctx)
}

// --- the rule ---------------------------------------------------------------

// Rule is ebs-default-encryption.
var Rule = &defaultRule{}

type defaultRule struct{}

var meta = rule.Meta{
	ID:        "ebs-default-encryption",
	Title:     "EBS encryption by default is on in every region",
	Severity:  rule.Medium,
	Rationale: "With encryption by default on, every new EBS volume and snapshot copy is encrypted whatever tool creates it; turning it off silently lets unencrypted data volumes appear.",
	Remediation: "Turns EBS encryption by default back on and, when the deployment names a KMS key, makes it the default key again; " +
		"existing volumes are not touched.",
	ResourceType: ResourceType,
	Function:     "ec2",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "ec2.amazonaws.com",
		Events: []string{"DisableEbsEncryptionByDefault", "ModifyEbsDefaultKmsKeyId", "ResetEbsDefaultKmsKeyId"}}},
	Config: &rule.ConfigTrigger{Frequency: rule.TwentyFourHour},
	Params: []rule.Param{
		{Name: ParamKMS, Default: "", Description: "KMS key ID or key ARN that must be the default EBS key (empty: any key, the AWS-managed one included)", Check: CheckKey},
	},
	ReadActions:  []string{APIGet, APIGetKey, apiIdentity},
	WriteActions: []string{APIEnable, APIModifyKey},
	// The default key is set only to the key the deployment names.
	ParamWrites: []rule.ParamWrite{{Actions: []string{APIModifyKey}, When: []string{ParamKMS}}},
}

// Meta implements rule.Rule.
func (*defaultRule) Meta() *rule.Meta { return &meta }

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

// Targets implements rule.Rule: the region's setting of the recipient account.
func (*defaultRule) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
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
				return nil, fmt.Errorf("%w: ModifyEbsDefaultKmsKeyId requestParameters: %v", trigger.ErrInput, err)
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

// Evaluate implements rule.Rule.
func (*defaultRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	want := p[ParamKMS]
	region := t.Region
	if region == "" {
		region = s.Region
	}
	var st State
	if s.Offline {
		ev, ok := t.Evidence.(evidence)
		if !ok {
			return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the trigger says nothing about the setting"}, nil
		}
		// Decide from what the call left behind; what it did not touch is
		// taken as compliant.
		st = State{Enabled: ev.Event != "DisableEbsEncryptionByDefault", Key: want}
		if ev.Key != "" {
			st.Key = ev.Key
		}
	} else {
		if region != s.Region {
			return rule.Finding{}, fmt.Errorf("the setting is in %s but this session is in %s", region, s.Region)
		}
		var err error
		if st, err = Read(ctx, s, want != ""); err != nil {
			return rule.Finding{}, err
		}
	}
	acts := Plan(region, st, want)
	if len(acts) == 0 {
		reason := "EBS encryption by default is on in " + region
		if want != "" {
			reason += " with the default key " + want
		}
		return rule.Finding{Verdict: rule.Compliant, Reason: reason}, nil
	}
	return rule.Finding{Verdict: rule.Violation, Reason: Describe(st, want) + " in " + region + ": new volumes may be unencrypted", Actions: acts}, nil
}

// Apply implements rule.Rule.
func (*defaultRule) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	return Apply(ctx, s, a)
}

// Sweep implements rule.Sweeper: the one setting of the session's region,
// named by the account (the Config resource of AWS::::Account).
func (*defaultRule) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	account, err := AccountID(ctx, s)
	if err != nil {
		return nil, err
	}
	return []rule.Target{{Type: ResourceType, ID: account, Region: s.Region}}, nil
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *defaultRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
