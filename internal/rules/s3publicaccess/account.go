package s3publicaccess

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// AccountResourceType is the Config type of the account-level block; its
// resource ID is the account ID.
const AccountResourceType = "AWS::S3::AccountPublicAccessBlock"

// IAM actions of the account rule. S3 Control's PutPublicAccessBlock and
// DeletePublicAccessBlock are both authorised by s3:PutAccountPublicAccessBlock.
const (
	apiPutAccountBlock = "s3:PutAccountPublicAccessBlock"
	apiGetAccountBlock = "s3:GetAccountPublicAccessBlock"
)

// AccountBlock is s3-account-public-access-block.
var AccountBlock = &accountRule{}

type accountRule struct{}

var accountMeta = rule.Meta{
	ID:       "s3-account-public-access-block",
	Title:    "The account blocks S3 public access (all four settings on)",
	Severity: rule.High,
	Rationale: "The account-level Block Public Access settings cover every bucket and access point of the account, including buckets created later: " +
		"turning them off is the first step of making data public.",
	Remediation:  "Turns all four account-level Block Public Access settings on again; the undo restores the previous configuration.",
	ResourceType: AccountResourceType,
	Function:     "s3",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "s3.amazonaws.com",
		Events: []string{"PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock"}}},
	Config: &rule.ConfigTrigger{ResourceTypes: []string{AccountResourceType}, Frequency: rule.TwentyFourHour},
	// The setting is the account's, not a region's: judged (and notified)
	// once, in the home region, whichever region recorded the call.
	Global:       true,
	ReadActions:  []string{apiGetAccountBlock, "sts:GetCallerIdentity"},
	WriteActions: []string{apiPutAccountBlock},
}

// Meta implements rule.Rule.
func (*accountRule) Meta() *rule.Meta { return &accountMeta }

// Targets implements rule.Rule: the account, with the block the call set.
func (*accountRule) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
	switch call.EventName {
	case "PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock":
	default:
		return nil, nil
	}
	account, ev, err := parseAccountCall(call.EventName, call.Account, call.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", trigger.ErrInput, call.EventName, err)
	}
	return []rule.Target{{Type: AccountResourceType, ID: account, Region: call.Region, Evidence: ev}}, nil
}

// Evaluate implements rule.Rule.
func (*accountRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, _ rule.Params) (rule.Finding, error) {
	account := t.ID
	if t.Item != nil && !awsclient.ValidAccount(account) {
		account = t.Item.AccountID
	}
	if s.Offline {
		ev, ok := t.Evidence.(accountEvent)
		switch {
		case !ok:
			return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the trigger says nothing about the account's block settings"}, nil
		case ev.Event == "DeleteAccountPublicAccessBlock":
			return accountViolation(account, nil, "the call deleted the account's Block Public Access configuration"), nil
		case ev.Block.On():
			return rule.Finding{Verdict: rule.Compliant, Resource: account, Reason: "the call turned all four account-level settings on"}, nil
		}
		return accountViolation(account, ev.Block, "the call left account-level "+describe(ev.Block)), nil
	}
	out, err := controlClient(s).GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(account)})
	var current *Block
	switch {
	case awsclient.HasCode(err, errNoConfig):
	case err != nil:
		return rule.Finding{}, fmt.Errorf("get the public access block of account %s: %w", account, err)
	default:
		current = fromS3Control(out.PublicAccessBlockConfiguration)
	}
	if current != nil && current.On() {
		return rule.Finding{Verdict: rule.Compliant, Resource: account, Reason: "all four account-level Block Public Access settings are on"}, nil
	}
	return accountViolation(account, current, "account-level "+describe(current)+
		"; every bucket without its own block can be made public by a policy or an ACL"), nil
}

func accountViolation(account string, previous *Block, reason string) rule.Finding {
	undoReason := "delete the account-level Block Public Access configuration (the account had none)"
	if previous != nil {
		undoReason = "restore the previous account-level settings"
	}
	undo := rule.NewAction(apiPutAccountBlock, account, undoReason, blockParams{Account: account, Block: previous}, nil)
	act := rule.NewAction(apiPutAccountBlock, account, "turn all four account-level Block Public Access settings on", blockParams{Account: account, Block: &AllOn}, &undo)
	return rule.Finding{Verdict: rule.Violation, Resource: account, Reason: reason, Actions: []rule.Action{act}}
}

// Sweep implements rule.Sweeper: the one account the session belongs to.
func (*accountRule) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	account, err := s.AccountID(ctx)
	if err != nil {
		return nil, err
	}
	return []rule.Target{{Type: AccountResourceType, ID: account, Region: s.Region}}, nil
}

// Apply implements rule.Rule.
func (*accountRule) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	if a.API != apiPutAccountBlock {
		return fmt.Errorf("s3-account-public-access-block cannot apply %s", a.API)
	}
	var p blockParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if !awsclient.ValidAccount(p.Account) {
		return badParams(a.API)
	}
	client := controlClient(s)
	var err error
	if p.Block == nil {
		_, err = client.DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(p.Account)})
	} else {
		_, err = client.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{AccountId: aws.String(p.Account),
			PublicAccessBlockConfiguration: p.Block.s3control()})
	}
	switch {
	case awsclient.HasCode(err, errNoConfig):
		return fmt.Errorf("account %s has no public access block: %w", p.Account, rule.ErrNoOp)
	case err != nil:
		return fmt.Errorf("public access block of account %s: %w", p.Account, err)
	}
	return nil
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *accountRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
