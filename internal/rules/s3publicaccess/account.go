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
var AccountBlock = rule.Define(rule.Spec[accountState, struct{}]{
	Meta:    &accountMeta,
	Targets: accountTargets,
	Observe: observeAccount,
	Plan:    planAccount,
	Judge:   judgeAccount,
	Apply:   applyAccount,
	Sweep:   sweepAccount,
})

var accountMeta = rule.Meta{
	ID:       "s3-account-public-access-block",
	Title:    "The account blocks S3 public access (all four settings on)",
	Severity: rule.High,
	Rationale: "The account-level Block Public Access settings cover every bucket and access point of the account, including buckets created later: " +
		"turning them off is the first step of making data public.",
	Remediation:         "Turns all four account-level Block Public Access settings on again; the undo restores the previous configuration.",
	ResourceType:        AccountResourceType,
	Function:            "s3",
	SecurityHubControls: []string{"S3.1"},
	CloudTrail: []rule.CloudTrailTrigger{{Source: "s3.amazonaws.com",
		Events: []string{"PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock"}}},
	Config: &rule.ConfigTrigger{ResourceTypes: []string{AccountResourceType}, Frequency: rule.TwentyFourHour},
	// The setting is the account's, not a region's: judged (and notified)
	// once, in the home region, whichever region recorded the call.
	Global: true,
	// The account a sweep names comes from the session (resolved once per
	// cold start): the rule makes no sts:GetCallerIdentity call.
	ReadActions:  []string{apiGetAccountBlock},
	WriteActions: []string{apiPutAccountBlock},
}

// accountState is what the rule judges of the account-level block.
type accountState struct {
	// Block is the account's configuration; nil when it has none.
	Block *Block
	// Call, when set, names the call whose evidence alone implies the
	// state (the offline planner's): Block is what it set, nil what it
	// deleted.
	Call string
}

// accountTargets names the account, with the block the call set.
func accountTargets(call *trigger.APICall, _ struct{}) ([]rule.Target, error) {
	switch call.EventName {
	case "PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock":
	default:
		return nil, nil
	}
	account, ev, err := parseAccountCall(call.EventName, call.Account, call.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", trigger.ErrInput, call.EventName, err)
	}
	return []rule.Target{{Type: AccountResourceType, ID: account, Region: call.Region, Evidence: ev}}, nil
}

// accountOf is the account a target names: its ID, or the Config item's
// account when the ID is not an account ID.
func accountOf(t rule.Target) string {
	if t.Item != nil && !awsclient.ValidAccount(t.ID) {
		return t.Item.AccountID
	}
	return t.ID
}

// accountBlockAPI is what the rule reads of S3 Control.
type accountBlockAPI interface {
	GetPublicAccessBlock(context.Context, *s3control.GetPublicAccessBlockInput, ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error)
}

func observeAccount(ctx context.Context, env rule.Env, t rule.Target, _ struct{}) (accountState, error) {
	return readAccount(ctx, controlClient(env.Session), accountOf(t))
}

// readAccount reads the account's block configuration.
func readAccount(ctx context.Context, api accountBlockAPI, id string) (accountState, error) {
	out, err := api.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(id)})
	switch {
	case awsclient.HasCode(err, errNoConfig):
		return accountState{}, nil
	case err != nil:
		return accountState{}, fmt.Errorf("get the public access block of account %s: %w", id, err)
	}
	return accountState{Block: fromS3Control(out.PublicAccessBlockConfiguration)}, nil
}

// planAccount is the state the call alone implies, offline.
func planAccount(t rule.Target, _ struct{}) (accountState, error) {
	ev, ok := t.Evidence.(accountEvent)
	if !ok {
		return accountState{}, rule.Undecided("the trigger says nothing about the account's block settings")
	}
	return accountState{Block: ev.Block, Call: ev.Event}, nil
}

// judgeAccount decides the account-level block and plans turning it fully on.
func judgeAccount(s accountState, t rule.Target, _ struct{}, _ rule.Facts) rule.Finding {
	id := accountOf(t)
	on := s.Block != nil && s.Block.On()
	switch {
	case s.Call == "DeleteAccountPublicAccessBlock":
		return accountViolation(id, nil, "the call deleted the account's Block Public Access configuration")
	case s.Call != "" && on:
		return rule.Finding{Verdict: rule.Compliant, Resource: id, Reason: "the call turned all four account-level settings on"}
	case s.Call != "":
		return accountViolation(id, s.Block, "the call left account-level "+describe(s.Block))
	case on:
		return rule.Finding{Verdict: rule.Compliant, Resource: id, Reason: "all four account-level Block Public Access settings are on"}
	}
	return accountViolation(id, s.Block, "account-level "+describe(s.Block)+
		"; every bucket without its own block can be made public by a policy or an ACL")
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

// sweepAccount names the one account the session acts in, resolved once
// per cold start.
func sweepAccount(_ context.Context, env rule.Env, _ struct{}) ([]rule.Target, error) {
	f := env.Facts()
	if !awsclient.ValidAccount(f.Account) {
		return nil, fmt.Errorf("sweep %s: the session's account is not known (%q)", accountMeta.ID, f.Account)
	}
	return []rule.Target{{Type: AccountResourceType, ID: f.Account, Region: f.Region}}, nil
}

// applyAccount puts the account's block (the plan, or the undo to a
// previous configuration) or deletes it (the undo to none).
func applyAccount(ctx context.Context, env rule.Env, a rule.Action) error {
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
	client := controlClient(env.Session)
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
