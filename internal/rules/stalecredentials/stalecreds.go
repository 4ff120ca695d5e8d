// Package stalecredentials holds stale-credentials: IAM users carry no long-term
// credential they have not used for more than N days (90 by default). A
// scheduled sweep reads the IAM credential report — one report for the whole
// account — and, for each user it flags, confirms against the user's current
// state (GetUser, ListAccessKeys, GetAccessKeyLastUsed) before acting, since
// the report may be up to four hours old.
//
// Access keys unused for N days, or never used and created more than N days
// ago, are deactivated — never deleted, so undo re-activates them. Console
// passwords unused for N days are reported only: removing a login profile
// loses the password, which no undo could restore. The root user's row is
// left to root-access-keys.
//
// The package changes only the status of access keys.
package stalecredentials

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/rampart-aws/rampart/internal/accesskey"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/tagmap"
)

// ResourceType is the IAM user's CloudFormation type.
const ResourceType = "AWS::IAM::User"

// ParamMaxAge is the number of days a credential may go unused.
const ParamMaxAge = "maxAgeDays"

// Check is stale-credentials with its clock and its polling pace.
type Check struct {
	now   func() time.Time
	wait  time.Duration
	polls int
}

// Rule is stale-credentials, judging ages against the wall clock.
var Rule = &Check{now: time.Now, wait: 2 * time.Second, polls: 8}

// WithClock is a copy of the check that judges ages as of now(): for tests,
// and for asking "what would be stale next month?".
func (c *Check) WithClock(now func() time.Time) *Check {
	cp := *c
	cp.now = now
	return &cp
}

// WithPolling is a copy of the check that waits first wait between polls for
// the credential report (doubling), at most polls times.
func (c *Check) WithPolling(wait time.Duration, polls int) *Check {
	cp := *c
	cp.wait, cp.polls = wait, max(polls, 1)
	return &cp
}

var meta = rule.Meta{
	ID:           "stale-credentials",
	Title:        "IAM users hold no long-term credentials they do not use",
	Severity:     rule.Medium,
	Rationale:    "An access key or password nobody uses still works for whoever finds it: in a repository, a laptop backup, a leaked CI log. Unused credentials are pure risk (CIS AWS Foundations 1.12).",
	Remediation:  "Deactivates (never deletes) access keys unused — or never used — for more than the allowed days; reports console passwords unused as long.",
	ResourceType: ResourceType,
	Function:     "iam",
	Schedule:     "rate(1 day)",
	Global:       true,
	Params: []rule.Param{
		{Name: ParamMaxAge, Default: "90", Description: "days a credential may go unused (a never-used one counts from its creation)", Check: checkDays},
	},
	ReadActions:  []string{"iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"},
	WriteActions: []string{accesskey.APIUpdate},
}

func checkDays(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 3650 {
		return fmt.Errorf("want a whole number of days from 1 to 3650")
	}
	return nil
}

// params are the rule's typed parameters.
type params struct {
	MaxAge time.Duration // how long a credential may go unused
}

func parse(p rule.Params) (params, error) {
	n, err := strconv.Atoi(p[ParamMaxAge])
	if err != nil || n < 1 {
		return params{}, fmt.Errorf("parameter %s=%q: want a whole number of days from 1 to 3650", ParamMaxAge, p[ParamMaxAge])
	}
	return params{MaxAge: time.Duration(n) * 24 * time.Hour}, nil
}

// Meta implements rule.Rule.
func (c *Check) Meta() *rule.Meta { return &meta }

// Bind implements rule.Rule: the check's spec, with its clock and polling.
func (c *Check) Bind(p rule.Params) (*rule.Bound, error) {
	return rule.Define(rule.Spec[user, params]{
		Meta:    &meta,
		Parse:   parse,
		Observe: c.observe,
		Plan:    c.plan,
		Judge:   judgeUser,
		Apply:   accesskey.Apply,
		Sweep:   c.sweep,
	}).Bind(p)
}

// sweep lists every IAM user in the credential report,
// with its row as evidence. The report costs two or three calls for the
// whole account.
func (c *Check) sweep(ctx context.Context, env rule.Env, _ params) ([]rule.Target, error) {
	s := env.Session
	out, err := fetchReport(ctx, awsclient.Client(s, iam.NewFromConfig), c.wait, c.polls)
	if err != nil {
		return nil, err
	}
	rows, err := ParseReport(out.Content)
	if err != nil {
		return nil, err
	}
	var ts []rule.Target
	for _, r := range rows {
		if r.User == RootUser {
			continue // root-access-keys judges the root user
		}
		ts = append(ts, rule.Target{Type: ResourceType, ID: r.User, Region: s.Region, Evidence: r})
	}
	return ts, nil
}

// credential is one password or access key, as judged.
type credential struct {
	Key      bool   // an access key; otherwise the console password
	ID       string // the access key ID; empty for a password, or a key known only by its report slot
	Slot     int    // report slot (1 or 2) of a key known from the report alone
	Created  time.Time
	LastUsed time.Time // zero: never used (or not since tracking began)
}

func (cr credential) name() string {
	switch {
	case !cr.Key:
		return "console password"
	case cr.ID != "":
		return "access key " + cr.ID
	}
	return fmt.Sprintf("access key %d", cr.Slot)
}

// stale reports whether the credential has gone unused for longer than
// maxAge at now, with a description of its use.
func (cr credential) stale(now time.Time, maxAge time.Duration) (bool, string) {
	day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	days := func(t time.Time) int { return int(now.Sub(t).Hours() / 24) }
	switch {
	case !cr.LastUsed.IsZero():
		return now.Sub(cr.LastUsed) > maxAge, fmt.Sprintf("%s last used %s (%d days ago)", cr.name(), day(cr.LastUsed), days(cr.LastUsed))
	case !cr.Created.IsZero():
		return now.Sub(cr.Created) > maxAge, fmt.Sprintf("%s never used, created %s (%d days ago)", cr.name(), day(cr.Created), days(cr.Created))
	}
	// No date at all: when in doubt, do not act.
	return false, cr.name() + " has no usage or creation date"
}

// fromRow lists the active credentials a report row shows.
func fromRow(r Row) []credential {
	var out []credential
	if r.Password.Enabled {
		out = append(out, credential{Created: firstDate(r.Password.LastChanged, r.Created), LastUsed: r.Password.LastUsed})
	}
	for i, k := range r.Keys {
		if k.Active {
			out = append(out, credential{Key: true, Slot: i + 1, Created: firstDate(k.LastRotated, r.Created), LastUsed: k.LastUsed})
		}
	}
	return out
}

func firstDate(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// user is the state the rule judges of one IAM user: the report row, and
// — when the row shows a stale credential and a live run could look — the
// credentials as they are now.
type user struct {
	Row *Row // nil: the target did not come from the credential report
	Now time.Time
	// Current holds the user's credentials read live, Tags and ARN with
	// them; nil when the row alone decides (nothing stale in it, or
	// offline).
	Current    []credential
	Tags       map[string]string
	ARN        string
	Gone       bool // the user was deleted since the report
	ReportOnly bool // the row alone decides: no live read (offline)
}

// observe reads what decides: the row alone when it shows nothing stale
// (no further call), else the user's current credentials.
func (c *Check) observe(ctx context.Context, env rule.Env, t rule.Target, p params) (user, error) {
	u, err := c.plan(t, p)
	if err != nil || u.Row == nil || !anyStale(fromRow(*u.Row), u.Now, p.MaxAge) {
		return u, err
	}
	u.ReportOnly = false
	cur, tags, arn, err := current(ctx, awsclient.Client(env.Session, iam.NewFromConfig), *u.Row, fromRow(*u.Row))
	if err != nil {
		return user{}, err
	}
	u.Current, u.Tags, u.ARN, u.Gone = cur, tags, arn, cur == nil
	return u, nil
}

// plan is the offline state: the report row alone.
func (c *Check) plan(t rule.Target, _ params) (user, error) {
	u := user{Now: c.now(), ReportOnly: true}
	if row, ok := t.Evidence.(Row); ok {
		u.Row = &row
	}
	return u, nil
}

// judgeUser is the rule's judgement.
func judgeUser(u user, _ rule.Target, p params, _ rule.Facts) rule.Finding {
	if u.Row == nil {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "stale-credentials judges the users of the credential report sweep only"}
	}
	row, limit := *u.Row, p.MaxAge
	creds := fromRow(row)
	switch {
	case !anyStale(creds, u.Now, limit):
		return rule.Finding{Verdict: rule.Compliant, Resource: row.ARN,
			Reason: fmt.Sprintf("no password or active access key unused for more than %d days", int(limit.Hours()/24))}
	case u.ReportOnly:
		f := judge(row.User, creds, u.Now, limit)
		f.Resource = row.ARN
		f.Reason += " (from the credential report; key IDs are resolved when applied)"
		return f
	case u.Gone:
		return rule.Finding{Verdict: rule.NotApplicable, Resource: row.ARN, Reason: "the user no longer exists"}
	}
	f := judge(row.User, u.Current, u.Now, limit)
	f.Resource, f.Tags = u.ARN, u.Tags
	return f
}

// usersAPI is what the rule reads of IAM users.
type usersAPI interface {
	GetUser(context.Context, *iam.GetUserInput, ...func(*iam.Options)) (*iam.GetUserOutput, error)
	ListAccessKeys(context.Context, *iam.ListAccessKeysInput, ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
}

// current reads the user's credentials as they are now: GetUser for its
// tags and the password's last use, and — when the report flagged a key —
// ListAccessKeys and GetAccessKeyLastUsed for each active key. It returns nil
// when the user is gone.
func current(ctx context.Context, client usersAPI, row Row, fromReport []credential) ([]credential, map[string]string, string, error) {
	u, err := client.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(row.User)})
	if awsclient.HasCode(err, "NoSuchEntity") {
		return nil, nil, "", nil
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("get user %s: %w", row.User, err)
	}
	tags := tagmap.Of(u.User.Tags, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value })
	var out []credential
	keys := false
	for _, cr := range fromReport {
		if cr.Key {
			keys = true
			continue
		}
		// The report's password columns, with GetUser's fresher last use.
		if last := aws.ToTime(u.User.PasswordLastUsed); last.After(cr.LastUsed) {
			cr.LastUsed = last
		}
		out = append(out, cr)
	}
	if !keys {
		return out, tags, aws.ToString(u.User.Arn), nil
	}
	list, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(row.User)})
	if awsclient.HasCode(err, "NoSuchEntity") {
		return nil, nil, "", nil
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("list access keys of %s: %w", row.User, err)
	}
	for _, k := range list.AccessKeyMetadata {
		if k.Status != iamtypes.StatusTypeActive {
			continue
		}
		id := aws.ToString(k.AccessKeyId)
		used, err := client.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
		if awsclient.HasCode(err, "NoSuchEntity") {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, nil, "", fmt.Errorf("access key %s last used: %w", id, err)
		}
		cr := credential{Key: true, ID: id, Created: aws.ToTime(k.CreateDate)}
		if used.AccessKeyLastUsed != nil {
			cr.LastUsed = aws.ToTime(used.AccessKeyLastUsed.LastUsedDate)
		}
		out = append(out, cr)
	}
	return out, tags, aws.ToString(u.User.Arn), nil
}

// keyParams are the params of a deactivation and of its undo.
// judge is the rule: stale keys are deactivated, a stale password reported.
func judge(user string, creds []credential, now time.Time, limit time.Duration) rule.Finding {
	var stale, ok []string
	var actions []rule.Action
	for _, cr := range creds {
		isStale, desc := cr.stale(now, limit)
		if !isStale {
			ok = append(ok, desc)
			continue
		}
		stale = append(stale, desc)
		if !cr.Key {
			continue // reported only
		}
		target := user + "/" + cr.name()
		actions = append(actions, accesskey.Deactivate(target, user, cr.ID, "deactivate (not delete) "+desc))
	}
	days := int(limit.Hours() / 24)
	if len(stale) == 0 {
		reason := fmt.Sprintf("no password or active access key unused for more than %d days", days)
		if len(ok) > 0 {
			reason += " (now: " + strings.Join(ok, "; ") + ")"
		}
		return rule.Finding{Verdict: rule.Compliant, Reason: reason}
	}
	reason := fmt.Sprintf("%s: %s — unused for more than %d days", user, strings.Join(stale, "; "), days)
	if len(actions) < len(stale) {
		reason += "; a console password is reported, not removed"
	}
	return rule.Finding{Verdict: rule.Violation, Reason: reason, Actions: actions}
}

// anyStale reports whether any credential has gone unused too long.
func anyStale(creds []credential, now time.Time, limit time.Duration) bool {
	for _, cr := range creds {
		if s, _ := cr.stale(now, limit); s {
			return true
		}
	}
	return false
}
