package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsname"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// The scope guard: an event is judged only in its own account and region,
// through a session that acts there (awsclient.Session.For). An event about
// an account or region the deployment does not cover is never judged against
// a local resource of the same name or ID, and no call is made into it: the
// decision says it is out of scope. In organization mode the deployment also
// covers the organization's ACTIVE member accounts, through the member role.

// DefaultHomeRegion is where global rules run when RAMPART_HOME_REGION is
// unset and the deployment covers it.
const DefaultHomeRegion = "us-east-1"

// OrganizationTTL is how long the organization's account list is trusted
// before it is listed again.
const OrganizationTTL = 10 * time.Minute

// readScope reads the identity and scope variables (RAMPART_OWN_ROLES,
// RAMPART_HOME_REGION, RAMPART_REGIONS, RAMPART_ORG_ID, RAMPART_MEMBER_ROLE,
// RAMPART_SWEEP_QUEUE_URL).
func (c *Config) readScope(getenv func(string) string) error {
	roles, err := parseOwnRoles(getenv(EnvOwnRoles))
	if err != nil {
		return err
	}
	c.OwnRoles = roles
	for _, r := range strings.Split(getenv(EnvRegions), ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if !awsclient.ValidRegion(r) {
			return fmt.Errorf("%s: %q is not a region", EnvRegions, r)
		}
		if !slices.Contains(c.Regions, r) {
			c.Regions = append(c.Regions, r)
		}
	}
	if c.HomeRegion = strings.TrimSpace(getenv(EnvHomeRegion)); c.HomeRegion != "" {
		if !awsclient.ValidRegion(c.HomeRegion) {
			return fmt.Errorf("%s: %q is not a region", EnvHomeRegion, c.HomeRegion)
		}
		if len(c.Regions) > 0 && !slices.Contains(c.Regions, c.HomeRegion) {
			return fmt.Errorf("%s: %s is not one of %s (%s)", EnvHomeRegion, c.HomeRegion, EnvRegions, strings.Join(c.Regions, ","))
		}
	}
	c.OrgID = strings.TrimSpace(getenv(EnvOrgID))
	c.MemberRole = strings.Trim(strings.TrimSpace(getenv(EnvMemberRole)), "/")
	c.SweepQueueURL = strings.TrimSpace(getenv(EnvSweepQueueURL))
	switch {
	case c.OrgID == "" && (c.MemberRole != "" || c.SweepQueueURL != ""):
		return fmt.Errorf("%s and %s need %s (organization mode)", EnvMemberRole, EnvSweepQueueURL, EnvOrgID)
	case c.OrgID == "":
		return nil
	case !awsname.OrganizationID(c.OrgID):
		return fmt.Errorf("%s: %q is not an organization ID (o-…)", EnvOrgID, c.OrgID)
	case c.MemberRole == "":
		// The sweep queue is checked by New: only a function that sweeps
		// here needs one.
		return fmt.Errorf("organization mode (%s) needs %s", EnvOrgID, EnvMemberRole)
	case strings.HasPrefix(c.MemberRole, "arn:") || !awsname.RolePath(c.MemberRole):
		return fmt.Errorf("%s: %q is not a role name with an optional path", EnvMemberRole, c.MemberRole)
	}
	if c.SweepQueueURL == "" {
		return nil
	}
	if u, err := url.Parse(c.SweepQueueURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s: %q is not a queue URL", EnvSweepQueueURL, c.SweepQueueURL)
	}
	return nil
}

// regions are the regions the deployment covers: RAMPART_REGIONS, or the
// function's own region.
func (e *Engine) regions() []string {
	if len(e.cfg.Regions) > 0 {
		return e.cfg.Regions
	}
	return []string{e.session.Region}
}

// homeRegion is where global rules run: RAMPART_HOME_REGION, else us-east-1
// when covered, else the first covered region (as infra places them).
func (e *Engine) homeRegion() string {
	if e.cfg.HomeRegion != "" {
		return e.cfg.HomeRegion
	}
	if rs := e.regions(); !slices.Contains(rs, DefaultHomeRegion) {
		return rs[0]
	}
	return DefaultHomeRegion
}

// sweepsHere reports whether the rule's sweeps run in this function's
// region: a global rule's only in the home region, so an account-wide
// finding is reported once, not once per region.
func (e *Engine) sweepsHere(m *rule.Meta) bool {
	return !m.Global || e.session.Region == e.homeRegion()
}

type sessionKey struct{}

// withSession carries the session a decision acts through.
func withSession(ctx context.Context, s *awsclient.Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// sessionFrom is the session carried by ctx, else the engine's own.
func (e *Engine) sessionFrom(ctx context.Context) *awsclient.Session {
	if s, ok := ctx.Value(sessionKey{}).(*awsclient.Session); ok && s != nil {
		return s
	}
	return e.session
}

// route is the session that acts in the event's account and region, or the
// reason the event is out of scope. A global rule's resources have no
// region: they are judged through the function's own region whatever region
// recorded the event (console sign-ins forwarded to the home region). An
// error (the organization could not be listed) is worth a retry.
func (e *Engine) route(ctx context.Context, account, region string, global bool) (*awsclient.Session, string, error) {
	s := e.session
	if account == "" {
		account = s.Account
	}
	if s.Offline && s.Region == "" && len(e.cfg.Regions) == 0 && region != "" {
		// An offline plan with no region of its own (no AWS_REGION, no
		// RAMPART_REGIONS) plans where the event happened, global rules
		// included: there is no deployment for it to be out of the scope of.
		sess, err := s.For(ctx, "", region)
		return sess, "", err
	}
	if region == "" || global {
		region = s.Region
	}
	where := fmt.Sprintf("this deployment covers account %s in %s", orUnknown(s.Account), strings.Join(e.regions(), ", "))
	if e.cfg.OrgID != "" {
		where = fmt.Sprintf("this deployment covers account %s and the active accounts of organization %s in %s",
			orUnknown(s.Account), e.cfg.OrgID, strings.Join(e.regions(), ", "))
	}
	out := func(why string) string {
		return fmt.Sprintf("out of scope: event account %s, region %s; %s (%s)", account, region, where, why)
	}
	if !slices.Contains(e.regions(), region) {
		return nil, out("region not covered"), nil
	}
	if account != s.Account && s.Account != "" {
		if !awsclient.ValidAccount(account) {
			return nil, out("not an account ID"), nil
		}
		if e.cfg.OrgID == "" {
			return nil, out("another account"), nil
		}
		members, err := e.activeAccounts(ctx)
		if err != nil {
			return nil, "", err
		}
		if !slices.Contains(members, account) {
			return nil, out("not an active account of the organization"), nil
		}
	}
	if s.Account == "" {
		// A session built without an identity (offline plan, a test's bare
		// session) cannot tell accounts apart: it acts where it stands.
		account = ""
	}
	sess, err := s.For(ctx, account, region)
	if err != nil {
		return nil, "", fmt.Errorf("session for account %s in %s: %w", account, region, err)
	}
	return sess, "", nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// orgCache is the organization's active accounts, listed at most once per
// OrganizationTTL.
type orgCache struct {
	mu       sync.Mutex
	at       time.Time
	accounts []string
}

// activeAccounts are the deployment's own account and the ACTIVE accounts of
// its organization, sorted. The organization is checked to be RAMPART_ORG_ID:
// a deployment pointed at the wrong organization acts nowhere but at home.
func (e *Engine) activeAccounts(ctx context.Context) ([]string, error) {
	if e.cfg.OrgID == "" {
		return []string{e.session.Account}, nil
	}
	e.org.mu.Lock()
	defer e.org.mu.Unlock()
	if e.org.accounts != nil && e.Now().Sub(e.org.at) < OrganizationTTL {
		return e.org.accounts, nil
	}
	list := e.ListAccounts
	if list == nil {
		list = e.listOrganization
	}
	accounts, err := list(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the accounts of organization %s: %w", e.cfg.OrgID, err)
	}
	if !slices.Contains(accounts, e.session.Account) {
		accounts = append(accounts, e.session.Account)
	}
	slices.Sort(accounts)
	e.org.accounts, e.org.at = slices.Compact(accounts), e.Now()
	return e.org.accounts, nil
}

// listOrganization lists the ACTIVE accounts of the organization
// (organizations:DescribeOrganization, organizations:ListAccounts).
func (e *Engine) listOrganization(ctx context.Context) ([]string, error) {
	client := awsclient.Client(e.session, organizations.NewFromConfig)
	org, err := client.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return nil, err
	}
	if id := aws.ToString(org.Organization.Id); id != e.cfg.OrgID {
		return nil, fmt.Errorf("this account belongs to organization %s, not %s (%s)", id, e.cfg.OrgID, EnvOrgID)
	}
	var out []string
	pages := organizations.NewListAccountsPaginator(client, &organizations.ListAccountsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Accounts {
			active := a.State == orgtypes.AccountStateActive
			if a.State == "" {
				active = a.Status == orgtypes.AccountStatusActive // older answers carry Status only
			}
			if active {
				out = append(out, aws.ToString(a.Id))
			}
		}
	}
	return out, nil
}

// routeConfig is the session for a Config invocation: the invocation's
// account (accountId) and the item's region (else the rule ARN's region).
func (e *Engine) routeConfig(ctx context.Context, inv *trigger.ConfigInvocation, item *trigger.ConfigItem, global bool) (*awsclient.Session, string, error) {
	account, region := inv.AccountID, ""
	if item != nil {
		if item.AccountID != "" && account != "" && item.AccountID != account {
			return nil, "", fmt.Errorf("%w: the configuration item is of account %s but the invocation is for %s", trigger.ErrInput, item.AccountID, account)
		}
		if account == "" {
			account = item.AccountID
		}
		region = item.Region
	}
	if region == "" {
		region = trigger.ConfigRuleRegion(inv.RuleARN)
	}
	return e.route(ctx, account, region, global)
}

// evaluatorFor reports Config evaluations into the account the session acts
// in: a member account's organization rule gets its evaluations there.
func (e *Engine) evaluatorFor(ctx context.Context) report.Evaluator {
	if cs, ok := e.Evaluator.(*report.ConfigService); ok {
		if s := e.sessionFrom(ctx); s != cs.Session {
			return &report.ConfigService{Session: s}
		}
	}
	return e.Evaluator
}

// fanOut answers a scheduled tick in organization mode: no sweep here, one
// message per (active account, rule) for this region on the sweep queue,
// which invokes the function once per message with bounded concurrency.
func (e *Engine) fanOut(ctx context.Context, s *trigger.Scheduled) ([]report.Decision, error) {
	var ds []report.Decision
	for _, r := range e.rules {
		m := r.Meta()
		if e.bound[m.ID].Sweep == nil || m.Schedule == "" || !scheduledFor(s, m.ID) {
			continue
		}
		d := report.Decision{Rule: m.ID, Severity: m.Severity, ResourceType: m.ResourceType, Mode: string(e.mode(m.ID)),
			Trigger: trigger.KindSchedule, EventID: s.ID, Actions: []rule.Action{}, Verdict: rule.Ignored}
		if !e.sweepsHere(m) {
			d.Reason = "a global rule sweeps in its home region " + e.homeRegion() + " only"
			ds = append(ds, d)
			continue
		}
		accounts, err := e.activeAccounts(ctx)
		if err == nil {
			err = e.sendSweeps(ctx, m.ID, accounts, s.ID)
		}
		if err != nil {
			d.Verdict, d.Reason, d.Error = ErrorVerdict, "could not fan the sweep out", err.Error()
		} else {
			d.Reason = fmt.Sprintf("sweep fanned out: one message per account (%d) in %s on the sweep queue", len(accounts), e.session.Region)
		}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		ds = append(ds, report.Decision{Trigger: trigger.KindSchedule, EventID: s.ID, Verdict: rule.Ignored,
			Actions: []rule.Action{}, Reason: "no rule here sweeps on a schedule"})
	}
	return ds, nil
}

// sendSweeps puts one sweep message per account on the queue, ten a call.
func (e *Engine) sendSweeps(ctx context.Context, ruleID string, accounts []string, schedule string) error {
	client := awsclient.Client(e.session, sqs.NewFromConfig)
	for start := 0; start < len(accounts); start += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i, a := range accounts[start:min(start+10, len(accounts))] {
			body, err := json.Marshal(trigger.SweepMessage{Rampart: trigger.SweepMarker, Rule: ruleID, Account: a, Region: e.session.Region, Schedule: schedule})
			if err != nil {
				return err
			}
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(string(body))})
		}
		out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(e.cfg.SweepQueueURL), Entries: entries})
		if err != nil {
			return fmt.Errorf("send sweep messages for %s: %w", ruleID, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("send sweep messages for %s: %d failed, first %s: %s", ruleID, len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}

// handleSweep runs the sweeps the queue delivered: each one rule in one
// account and region, through that account's session.
func (e *Engine) handleSweep(ctx context.Context, sweeps []trigger.SweepMessage) ([]report.Decision, error) {
	var ds []report.Decision
	for _, sw := range sweeps {
		var r rule.Rule
		for _, x := range e.rules {
			if x.Meta().ID == sw.Rule {
				r = x
			}
		}
		if r == nil || e.bound[r.Meta().ID].Sweep == nil {
			return nil, fmt.Errorf("%w: no rule %q that sweeps in this function", trigger.ErrInput, sw.Rule)
		}
		m := r.Meta()
		base := func() report.Decision {
			return report.Decision{Rule: m.ID, Severity: m.Severity, ResourceType: m.ResourceType, Mode: string(e.mode(m.ID)),
				Trigger: trigger.KindSweep, EventID: sw.ID, Actions: []rule.Action{}}
		}
		if m.Global && sw.Region != e.homeRegion() {
			d := base()
			d.Verdict, d.Reason = rule.Ignored, "a global rule sweeps in its home region "+e.homeRegion()+" only"
			ds = append(ds, d)
			continue
		}
		sess, out, err := e.route(ctx, sw.Account, sw.Region, false)
		if err != nil || out != "" {
			d := base()
			d.Resource = sw.Account + "/" + sw.Region
			d.Verdict, d.Reason = rule.Ignored, out
			if err != nil {
				d.Verdict, d.Reason, d.Error = ErrorVerdict, "could not resolve where the sweep belongs", err.Error()
			}
			ds = append(ds, d)
			continue
		}
		sctx := withSession(ctx, sess)
		b := e.bound[m.ID]
		targets, d, err := e.sweep(sctx, b, base())
		if err != nil {
			return nil, err
		}
		if d != nil {
			d.Resource = sw.Account + "/" + sw.Region
			ds = append(ds, *d)
			continue
		}
		for _, t := range targets {
			d := base()
			e.decide(sctx, b, t, &d)
			ds = append(ds, d)
		}
	}
	return ds, nil
}
