// Package exposedaccesskeys holds exposed-access-keys: an access key AWS has
// found exposed in public (a code repository, a paste site) is deactivated
// at once. Two AWS services say so, both delivered in us-east-1 only: AWS
// Health's AWS_RISK_CREDENTIALS_EXPOSED event (it names the key) and Trusted
// Advisor's "Exposed Access Keys" check-item refresh (it names the key, its
// user, where it was found and the fraud type).
//
// The event says where to look; IAM decides: the key must still exist, in
// this account, and belong to the user the event names (Trusted Advisor) or
// the user IAM says owns it (Health names only the key). An active key is
// deactivated — never deleted, so the undo re-activates it; an inactive one
// is compliant after the fact. A root user's key, or a key that belongs to
// someone other than the user the event names, is alerted on and left
// alone: only the root user can act on its own keys, and Rampart does not
// act on a guess. The alert says where the key was found.
//
// The exemption tag is ignored (an exposed key's holder may be able to tag
// its own user): only the deployment's checked-in list exempts.
//
// The package changes only the status of access keys.
package exposedaccesskeys

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/rampart-aws/rampart/internal/accesskey"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/tagmap"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the access key's CloudFormation type.
const ResourceType = "AWS::IAM::AccessKey"

// The events the rule takes.
const (
	SourceHealth     = "aws.health"
	DetailHealth     = "AWS Health Event"
	EventTypeExposed = "AWS_RISK_CREDENTIALS_EXPOSED"

	SourceTrustedAdvisor = "aws.trustedadvisor"
	DetailTrustedAdvisor = "Trusted Advisor Check Item Refresh Notification"
	CheckExposedKeys     = "Exposed Access Keys"
)

// Trusted Advisor's "Exposed Access Keys" report columns (check-item-detail).
const (
	colKeyID     = "Access Key ID"
	colUser      = "User Name (IAM or Root)"
	colFraudType = "Fraud Type"
	colCaseID    = "Case ID"
	colLocation  = "Location"
	colUpdated   = "Time Updated"
	colDeadline  = "Deadline"
	colUsage     = "Usage (USD per Day)"
)

const (
	apiLastUsed = "iam:GetAccessKeyLastUsed"
	apiListKeys = "iam:ListAccessKeys"
	apiUserTags = "iam:ListUserTags"
)

// Rule is exposed-access-keys.
var Rule = rule.Define(rule.Spec[keyState, struct{}]{
	Meta:    &meta,
	OnEvent: func(ev *trigger.Event, _ struct{}) ([]rule.Target, error) { return targets(ev) },
	Observe: func(ctx context.Context, env rule.Env, t rule.Target, _ struct{}) (keyState, error) {
		return observe(ctx, awsclient.Client(env.Session, iam.NewFromConfig), env.Session.Account, t)
	},
	Plan:  plan,
	Judge: judgeTarget,
	Apply: accesskey.Apply,
})

var meta = rule.Meta{
	ID:       "exposed-access-keys",
	Title:    "Access keys AWS finds exposed in public are deactivated at once",
	Severity: rule.Critical,
	Rationale: "AWS scans public code repositories and other sources for access keys; a key found there is used by " +
		"attackers within minutes. AWS's own quarantine policy blocks only part of what the key can do: the key " +
		"must stop working now, and its owner must rotate it.",
	Remediation: "Deactivates (never deletes) the exposed access key named by AWS Health (AWS_RISK_CREDENTIALS_EXPOSED) " +
		"or Trusted Advisor (Exposed Access Keys), once IAM confirms it is this account's and the named user's; alerts with " +
		"where it was found; only alerts for a root key or a key whose owner does not match.",
	ResourceType: ResourceType,
	Function:     "iam",
	Events: []rule.EventTrigger{
		{Source: SourceHealth, DetailType: DetailHealth, Region: "us-east-1",
			Detail: map[string]any{"eventTypeCode": []any{EventTypeExposed}}},
		{Source: SourceTrustedAdvisor, DetailType: DetailTrustedAdvisor, Region: "us-east-1",
			Detail: map[string]any{"check-name": []any{CheckExposedKeys}, "status": []any{"ERROR", "WARN"}}},
	},
	Global:       true,
	ReadActions:  []string{apiLastUsed, apiListKeys, apiUserTags},
	WriteActions: []string{accesskey.APIUpdate},

	// An exposed key's holder may be able to tag its own user.
	ListExemptionsOnly: true,
}

// exposure is what an event says about one exposed key.
type exposure struct {
	Source  string // "AWS Health" or "Trusted Advisor"
	KeyID   string
	User    string // the user the event names (Trusted Advisor); empty when it names none
	Account string // the affected account the event names (Health's organizational view); empty when unsaid
	Where   string // the Health description, or Trusted Advisor's location
	Fraud   string // Trusted Advisor's fraud type ("Exposed", "Suspected Fraud")
	CaseID  string
	Status  string // Trusted Advisor's item status (ERROR, WARN)
	Since   string // when AWS found it, as the event says
	Usage   string // Trusted Advisor's usage in USD per day
}

// validKeyID reports whether id is an access key ID as IAM documents it
// (16 to 128 upper-case letters and digits: ^[A-Z0-9]{16,128}$), with a byte
// loop rather than an expression compiled at every cold start.
func validKeyID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// targets names the exposed keys of a Health or Trusted Advisor event. An
// event of another type (or check) names none; one that names no key, or a
// malformed key ID, is bad input.
func targets(ev *trigger.Event) ([]rule.Target, error) {
	var xs []exposure
	var err error
	switch ev.Source {
	case SourceHealth:
		xs, err = fromHealth(ev)
	case SourceTrustedAdvisor:
		xs, err = fromTrustedAdvisor(ev)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", trigger.ErrInput, err)
	}
	var ts []rule.Target
	for _, x := range xs {
		ts = append(ts, rule.Target{Type: ResourceType, ID: x.KeyID, Region: ev.Region, Evidence: x})
	}
	return ts, nil
}

// healthDetail is the part of an AWS Health event's detail the rule reads.
type healthDetail struct {
	EventArn          string `json:"eventArn"`
	EventTypeCode     string `json:"eventTypeCode"`
	StartTime         string `json:"startTime"`
	AffectedAccount   string `json:"affectedAccount"`
	EventDescriptions []struct {
		Language    string `json:"language"`
		Description string `json:"latestDescription"`
	} `json:"eventDescription"`
	AffectedEntities []struct {
		EntityValue string `json:"entityValue"`
	} `json:"affectedEntities"`
}

func fromHealth(ev *trigger.Event) ([]exposure, error) {
	var d healthDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, fmt.Errorf("the AWS Health event detail: %w", err)
	}
	if d.EventTypeCode != EventTypeExposed {
		return nil, nil
	}
	if d.AffectedAccount != "" && !awsclient.ValidAccount(d.AffectedAccount) {
		return nil, fmt.Errorf("%s event: affectedAccount %q is not an account ID", EventTypeExposed, d.AffectedAccount)
	}
	where := ""
	for _, desc := range d.EventDescriptions {
		if where == "" || desc.Language == "en_US" {
			where = strings.TrimSpace(desc.Description)
		}
	}
	if len(d.AffectedEntities) == 0 {
		return nil, fmt.Errorf("%s event %s names no access key (affectedEntities is empty)", EventTypeExposed, d.EventArn)
	}
	var out []exposure
	for _, e := range d.AffectedEntities {
		id := strings.TrimSpace(e.EntityValue)
		if !validKeyID(id) {
			return nil, fmt.Errorf("%s event: affected entity %q is not an access key ID", EventTypeExposed, e.EntityValue)
		}
		out = append(out, exposure{Source: "AWS Health", KeyID: id, Account: d.AffectedAccount, Where: where, Since: d.StartTime})
	}
	return out, nil
}

// taDetail is a Trusted Advisor check-item refresh's detail.
type taDetail struct {
	CheckName string            `json:"check-name"`
	Status    string            `json:"status"`
	Item      map[string]string `json:"check-item-detail"`
}

func fromTrustedAdvisor(ev *trigger.Event) ([]exposure, error) {
	var d taDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, fmt.Errorf("the Trusted Advisor event detail: %w", err)
	}
	if d.CheckName != CheckExposedKeys || (d.Status != "ERROR" && d.Status != "WARN") {
		return nil, nil // another check, or an item that is no longer flagged
	}
	id, user := strings.TrimSpace(d.Item[colKeyID]), strings.TrimSpace(d.Item[colUser])
	switch {
	case id == "":
		return nil, fmt.Errorf("the Trusted Advisor %q item has no %q", CheckExposedKeys, colKeyID)
	case !validKeyID(id):
		return nil, fmt.Errorf("the Trusted Advisor %q item: %q is not an access key ID", CheckExposedKeys, id)
	case user == "":
		return nil, fmt.Errorf("the Trusted Advisor %q item for %s has no %q", CheckExposedKeys, id, colUser)
	}
	return []exposure{{Source: "Trusted Advisor", KeyID: id, User: user, Where: strings.TrimSpace(d.Item[colLocation]),
		Fraud: d.Item[colFraudType], CaseID: d.Item[colCaseID], Status: d.Status, Since: millis(d.Item[colUpdated]),
		Usage: d.Item[colUsage]}}, nil
}

// millis renders Trusted Advisor's epoch-milliseconds times; anything else
// is kept as it is.
func millis(s string) string {
	var ms int64
	if _, err := fmt.Sscanf(s, "%d", &ms); err != nil || ms <= 0 || fmt.Sprint(ms) != s {
		return s
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// isRoot reports whether a user name names the account's root user, as
// Trusted Advisor and IAM spell it.
func isRoot(user string) bool {
	switch strings.ToLower(user) {
	case "root", "<root>", "<root_account>":
		return true
	}
	return false
}

// keyState is what IAM says of the exposed key now.
type keyState struct {
	OtherAccount bool   // the event is about another account's key
	Root         bool   // the key is the root user's
	Found        bool   // the key exists in this account
	Owner        string // the IAM user that owns it
	Mismatch     bool   // it belongs to Owner, not to the user the event names
	Status       string // Active or Inactive
	LastUsed     string // when, where and by which service it was last used
	Tags         map[string]string
	Note         string // how the state is known when not read live
}

// iamAPI is what the rule reads of IAM.
type iamAPI interface {
	GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	ListUserTags(context.Context, *iam.ListUserTagsInput, ...func(*iam.Options)) (*iam.ListUserTagsOutput, error)
}

// observe reads the key's owner (GetAccessKeyLastUsed, which also says when
// it was last used), its status in its owner's list (ListAccessKeys, which
// proves the key is this account's) and, for an active key, its owner's
// tags (who to call). A root key, another account's key and a key whose
// owner is not the user named stop the reads: nothing is done to them.
func observe(ctx context.Context, c iamAPI, account string, t rule.Target) (keyState, error) {
	x, ok := t.Evidence.(exposure)
	if !ok {
		return keyState{}, fmt.Errorf("exposed-access-keys judges the keys AWS Health and Trusted Advisor name; %s came from neither", t.ID)
	}
	if x.Account != "" && account != "" && x.Account != account {
		return keyState{OtherAccount: true}, nil
	}
	if isRoot(x.User) {
		return keyState{Root: true, Found: true}, nil
	}
	lu, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(x.KeyID)})
	if awsclient.HasCode(err, "NoSuchEntity") || err == nil && aws.ToString(lu.UserName) == "" {
		return keyState{}, nil
	}
	if err != nil {
		return keyState{}, fmt.Errorf("access key %s last used: %w", x.KeyID, err)
	}
	s := keyState{Owner: aws.ToString(lu.UserName), LastUsed: lastUsed(lu.AccessKeyLastUsed)}
	switch {
	case isRoot(s.Owner):
		s.Root, s.Found = true, true
		return s, nil
	case x.User != "" && s.Owner != x.User:
		s.Found, s.Mismatch = true, true
		return s, nil
	}
	list, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(s.Owner)})
	if awsclient.HasCode(err, "NoSuchEntity") {
		return keyState{}, nil // the user is not this account's
	}
	if err != nil {
		return keyState{}, fmt.Errorf("list access keys of %s: %w", s.Owner, err)
	}
	for _, k := range list.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == x.KeyID {
			s.Found, s.Status = true, string(k.Status)
		}
	}
	if !s.Found || s.Status != string(iamtypes.StatusTypeActive) {
		return s, nil
	}
	tags, err := c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String(s.Owner)})
	switch {
	case awsclient.HasCode(err, "NoSuchEntity"):
		return keyState{}, nil
	case err != nil:
		return keyState{}, fmt.Errorf("tags of user %s: %w", s.Owner, err)
	}
	s.Tags = tagmap.Of(tags.Tags, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value })
	return s, nil
}

func lastUsed(u *iamtypes.AccessKeyLastUsed) string {
	if u == nil || u.LastUsedDate == nil || u.LastUsedDate.IsZero() {
		return "never used"
	}
	s := "last used " + u.LastUsedDate.UTC().Format(time.RFC3339)
	if svc := aws.ToString(u.ServiceName); svc != "" && svc != "N/A" {
		s += " (" + svc
		if r := aws.ToString(u.Region); r != "" && r != "N/A" {
			s += " in " + r
		}
		s += ")"
	}
	return s
}

// plan is the offline state: Trusted Advisor names the key's user, so the
// event alone implies the deactivation; Health names only the key, whose
// owner a live run reads.
func plan(t rule.Target, _ struct{}) (keyState, error) {
	x, ok := t.Evidence.(exposure)
	switch {
	case !ok:
		return keyState{}, rule.Undecided("only an AWS Health or Trusted Advisor exposure event can be judged without AWS")
	case isRoot(x.User):
		return keyState{Root: true, Found: true, Note: "as the event implies"}, nil
	case x.User == "":
		return keyState{}, rule.Undecided(fmt.Sprintf("which user owns access key %s is read live (%s), then its status (%s)", x.KeyID, apiLastUsed, apiListKeys))
	}
	return keyState{Found: true, Owner: x.User, Status: string(iamtypes.StatusTypeActive), Note: "as the event implies: a live run confirms the key is active and " + x.User + "'s"}, nil
}

// keyParams are the params of a deactivation and of its undo.
func judgeTarget(s keyState, t rule.Target, _ struct{}, f rule.Facts) rule.Finding {
	x, _ := t.Evidence.(exposure)
	if x.KeyID == "" {
		x.KeyID = t.ID
	}
	return judge(s, x, f.Account)
}

// judge is the rule.
func judge(s keyState, x exposure, account string) rule.Finding {
	found := x.found()
	switch {
	case s.OtherAccount:
		return rule.Finding{Verdict: rule.NotApplicable, Reason: fmt.Sprintf("%s is about access key %s of account %s, not this one (%s): that account's deployment acts on it; %s",
			x.Source, x.KeyID, x.Account, orUnknown(account), found)}
	case s.Root:
		reason := fmt.Sprintf("the root user's access key %s is exposed: %s; only the root user can deactivate or delete it — sign in as root and delete it now", x.KeyID, found)
		return rule.Finding{Verdict: rule.Violation, Reason: s.noted(reason), Actions: []rule.Action{rule.Alert(x.KeyID, reason)}}
	case s.Mismatch:
		reason := fmt.Sprintf("%s names user %s for exposed access key %s, but IAM says the key belongs to %s (%s): not deactivated automatically — check the event and deactivate the key by hand; %s",
			x.Source, x.User, x.KeyID, s.Owner, s.LastUsed, found)
		return rule.Finding{Verdict: rule.Violation, Reason: reason, Actions: []rule.Action{rule.Alert(x.KeyID, reason)}}
	case !s.Found:
		who := ""
		if x.User != "" {
			who = " (user " + x.User + ")"
		}
		return rule.Finding{Verdict: rule.NotApplicable, Reason: fmt.Sprintf("access key %s%s does not exist in this account (%s): deleted since, or not this account's; %s",
			x.KeyID, who, orUnknown(account), found)}
	case s.Status != string(iamtypes.StatusTypeActive):
		return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("access key %s of user %s is already %s (compliant after the fact); %s; %s — rotate it and delete it once nothing uses it",
			x.KeyID, s.Owner, strings.ToLower(orUnknown(s.Status)), s.LastUsed, found)}
	}
	reason := fmt.Sprintf("access key %s of user %s is exposed: %s", x.KeyID, s.Owner, found)
	if s.LastUsed != "" {
		reason += "; " + s.LastUsed
	}
	if o := owners(s.Tags); o != "" {
		reason += "; user tags: " + o
	}
	reason += " — deactivate it (never delete it), then rotate it (a new key for whatever uses it), review CloudTrail for its use and delete it"
	target := s.Owner + "/" + x.KeyID
	act := accesskey.Deactivate(target, s.Owner, x.KeyID, "deactivate the exposed access key "+x.KeyID)
	return rule.Finding{Verdict: rule.Violation, Reason: s.noted(reason), Actions: []rule.Action{act}, Tags: s.Tags}
}

func (s keyState) noted(reason string) string {
	if s.Note != "" {
		return reason + " (" + s.Note + ")"
	}
	return reason
}

// found says who found the key, where and when.
func (x exposure) found() string {
	var b strings.Builder
	b.WriteString("found by " + x.Source)
	if x.Fraud != "" {
		b.WriteString(" (" + x.Fraud)
		if x.Status != "" {
			b.WriteString(", " + x.Status)
		}
		b.WriteString(")")
	}
	if x.Since != "" {
		b.WriteString(" on " + x.Since)
	}
	switch {
	case x.Where != "" && x.Source == "Trusted Advisor":
		b.WriteString(" at " + x.Where)
	case x.Where != "":
		b.WriteString(": \"" + x.Where + "\"")
	default:
		b.WriteString(" (no location given)")
	}
	if x.CaseID != "" {
		b.WriteString("; case " + x.CaseID)
	}
	if x.Usage != "" && x.Usage != "0" {
		b.WriteString("; usage " + x.Usage + " USD per day")
	}
	return b.String()
}

// owners lists the tags that say who owns a user, in a stable order.
func owners(tags map[string]string) string {
	var out []string
	for _, k := range []string{"owner", "Owner", "team", "Team", "email", "contact"} {
		if v := tags[k]; v != "" {
			out = append(out, k+"="+v)
		}
	}
	return strings.Join(out, ", ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
