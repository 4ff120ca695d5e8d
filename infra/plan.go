package main

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// This file derives, in plain Go and without the CDK, what one region's stack
// holds: which functions, which EventBridge patterns, which Config rules,
// which schedules and which IAM actions. stack.go turns the plan into
// constructs; the tests check both.

// regionPlan is everything one account-region stack deploys.
type regionPlan struct {
	Region string
	// Home is the deployment's home region (Settings.HomeRegion).
	Home      string
	Functions []functionPlan // sorted by name
	// Forward are the global-service events a non-home region forwards to
	// the home region's default bus (empty in the home region), and
	// ForwardServices the region-pinned service events (services.go).
	Forward         []eventGroup
	ForwardServices []serviceGroup
}

// IsHome reports whether the region is the home region.
func (p *regionPlan) IsHome() bool { return p.Region == p.Home }

// functionPlan is one Lambda function and the wiring of its rules in a region.
type functionPlan struct {
	Name string
	// Rules are all the function's rules, in catalog order: the function
	// carries all of them whatever the region, and its role grants all
	// their actions.
	Rules []rule.Rule
	// EventRules are the rules with a CloudTrail or service-event trigger
	// wired in this region: a regional trigger everywhere, a global one in
	// the home region.
	EventRules []rule.Rule
	// Events are EventRules' CloudTrail triggers merged by service: one
	// EventBridge rule per function and service, carrying the union of
	// event names.
	Events []eventGroup
	// Services are EventRules' service-event triggers (Meta.Events), one
	// EventBridge rule per function, source and detail-type.
	Services []serviceGroup
	// ConfigRules are the rules with a Config trigger (a global rule's in
	// the home region only).
	ConfigRules []rule.Rule
	// Sweeps are the rules with a schedule (a global rule's in the home
	// region only).
	Sweeps []rule.Rule
	// Actions is the sorted union of the rules' read and write actions.
	Actions []string
}

// hasTrigger reports whether anything invokes the function in the region.
func (f *functionPlan) hasTrigger() bool {
	return len(f.EventRules)+len(f.ConfigRules)+len(f.Sweeps) > 0
}

// ruleIDs are the IDs of the function's rules.
func (f *functionPlan) ruleIDs() map[string]bool {
	ids := map[string]bool{}
	for _, r := range f.Rules {
		ids[r.Meta().ID] = true
	}
	return ids
}

// roleName is the name of a function's IAM role. IAM is global: one role per
// function serves the function in every region (the home stack creates it,
// the others refer to it by name). The names are plain strings so every
// function can list every Rampart role in RAMPART_OWN_ROLES, and the member
// role trust them, without a CloudFormation reference. One role per function
// rather than per function-region keeps RAMPART_OWN_ROLES inside Lambda's
// 4 KB environment and the member role's trust policy inside IAM's 2 KB.
func roleName(function string) string { return "rampart-" + function }

// roleARN is the full ARN of a function's role.
func roleARN(s *Settings, function string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partitionOf(s.HomeRegion), s.Account, roleName(function))
}

// logGroupName, dlqName and sweepQueueName name a function's regional
// resources, so that its one role can grant them in every region by name.
func logGroupName(function string) string   { return "/aws/lambda/" + functionName(function) }
func dlqName(function string) string        { return "rampart-" + function + "-dlq" }
func sweepQueueName(function string) string { return "rampart-" + function + "-sweep" }

// functionName is the Lambda function's name (unique per region).
func functionName(function string) string { return "rampart-" + function }

// eventRuleName names the EventBridge rule of a function's events from one
// service (a CloudTrail event source, e.g. s3.amazonaws.com).
func eventRuleName(function, source string) string {
	return "rampart-" + function + "-" + strings.TrimSuffix(source, ".amazonaws.com")
}

// forwardRuleName names a forwarding rule of one service's events.
func forwardRuleName(source string) string {
	return "rampart-forward-" + strings.TrimSuffix(source, ".amazonaws.com")
}

// sweepRuleName names the scheduled EventBridge rule of a rule's sweep; the
// engine recognizes it (a "rampart-" name containing the rule ID).
func sweepRuleName(ruleID string) string { return "rampart-" + ruleID + "-sweep" }

// eventSource is the EventBridge source of a CloudTrail event source:
// ec2.amazonaws.com → aws.ec2, signin.amazonaws.com → aws.signin; CloudWatch
// (monitoring.amazonaws.com) delivers as aws.cloudwatch.
func eventSource(cloudTrailSource string) (string, error) {
	svc, ok := strings.CutSuffix(cloudTrailSource, ".amazonaws.com")
	if !ok || svc == "" || strings.ContainsAny(svc, ".* ") {
		return "", fmt.Errorf("CloudTrail event source %q: want <service>.amazonaws.com", cloudTrailSource)
	}
	if svc == "monitoring" {
		return "aws.cloudwatch", nil
	}
	return "aws." + svc, nil
}

// eventGroup is the CloudTrail events of one service (and detail-type)
// that one EventBridge rule selects: the union of several rules' triggers.
type eventGroup struct {
	Trigger rule.CloudTrailTrigger // Source, DetailType and the union of Events (sorted)
	RuleIDs []string
}

// addTrigger merges a trigger into the groups, by service and detail-type.
func addTrigger(groups []eventGroup, ruleID string, c *rule.CloudTrailTrigger) []eventGroup {
	for i := range groups {
		g := &groups[i]
		if g.Trigger.Source == c.Source && g.Trigger.EventBridgeDetailType() == c.EventBridgeDetailType() {
			for _, e := range c.Events {
				if !slices.Contains(g.Trigger.Events, e) {
					g.Trigger.Events = append(g.Trigger.Events, e)
				}
			}
			slices.Sort(g.Trigger.Events)
			if !slices.Contains(g.RuleIDs, ruleID) {
				g.RuleIDs = append(g.RuleIDs, ruleID)
			}
			return groups
		}
	}
	t := rule.CloudTrailTrigger{DetailType: c.DetailType, Source: c.Source, Events: slices.Clone(c.Events)}
	slices.Sort(t.Events)
	groups = append(groups, eventGroup{Trigger: t, RuleIDs: []string{ruleID}})
	slices.SortFunc(groups, func(a, b eventGroup) int {
		return cmp.Or(cmp.Compare(a.Trigger.Source, b.Trigger.Source), cmp.Compare(a.Trigger.EventBridgeDetailType(), b.Trigger.EventBridgeDetailType()))
	})
	return groups
}

// eventPattern is the EventBridge pattern of a CloudTrail trigger, as it
// appears in the template. A failed API call (errorCode set) changed
// nothing: it is filtered at the bus. Console sign-ins are not API calls: a
// failed sign-in carries errorMessage and no errorCode, and is kept (the
// sign-in rule counts failures).
func eventPattern(c *rule.CloudTrailTrigger) (map[string]any, error) {
	src, err := eventSource(c.Source)
	if err != nil {
		return nil, err
	}
	detail := map[string]any{
		"eventSource": []any{c.Source},
		"eventName":   toAny(c.Events),
	}
	if c.EventBridgeDetailType() == trigger.DetailAPICall {
		detail["errorCode"] = []any{map[string]any{"exists": false}}
	}
	return map[string]any{
		"source":      []any{src},
		"detail-type": toAny(c.EventBridgeDetailTypes()),
		"detail":      detail,
	}, nil
}

func toAny(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

// globalTrigger reports whether a trigger's events are global-service
// events: a global rule's, or one pinned to a region (CloudTrail records
// IAM and sign-in events in us-east-1 and a few other regions, whatever
// region the resource "is" in). They are judged once, in the home region.
func globalTrigger(m *rule.Meta, c *rule.CloudTrailTrigger) bool {
	return m.Global || c.Region != ""
}

var configFrequencies = []string{rule.OneHour, rule.ThreeHours, rule.SixHours, rule.TwelveHours, rule.TwentyFourHour}

// checkRules rejects metadata the infrastructure cannot wire: it fails the
// synth (and the tests) rather than deploying a rule that never fires.
func checkRules(rules []rule.Rule) error {
	seen := map[string]bool{}
	var errs []string
	bad := func(id, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("rule %s: ", id)+fmt.Sprintf(format, args...))
	}
	for _, r := range rules {
		m := r.Meta()
		switch {
		case m.ID == "":
			bad("?", "empty ID")
			continue
		case seen[m.ID]:
			bad(m.ID, "registered twice")
		}
		seen[m.ID] = true
		if m.Function == "" || strings.ContainsAny(m.Function, "/ .") {
			bad(m.ID, "function %q is not a directory name under functions/", m.Function)
		}
		if len(roleName(m.Function)) > 64 || len(dlqName(m.Function)) > 80 || len(sweepQueueName(m.Function)) > 80 {
			bad(m.ID, "function name %q is too long for an IAM role or queue name", m.Function)
		}
		if len(m.ConfigRuleName()) > 128 {
			bad(m.ID, "Config rule name %q is longer than 128 characters", m.ConfigRuleName())
		}
		if len(sweepRuleName(m.ID)) > 64 {
			bad(m.ID, "ID too long for an EventBridge rule name")
		}
		if len(m.CloudTrail) == 0 && len(m.Events) == 0 && m.Config == nil && m.Schedule == "" {
			bad(m.ID, "declares no trigger (CloudTrail, Events, Config or Schedule)")
		}
		for i := range m.Events {
			if err := checkService(&m.Events[i]); err != nil {
				bad(m.ID, "%v", err)
			}
		}
		for _, c := range m.CloudTrail {
			if _, err := eventSource(c.Source); err != nil {
				bad(m.ID, "%v", err)
			}
			if len(c.Events) == 0 {
				bad(m.ID, "CloudTrail trigger names no event")
			}
		}
		if c := m.Config; c != nil {
			if len(c.ResourceTypes) == 0 && c.Frequency == "" {
				bad(m.ID, "Config trigger has neither resource types nor a frequency")
			}
			if c.Frequency != "" && !slices.Contains(configFrequencies, c.Frequency) {
				bad(m.ID, "Config frequency %q: want one of %s", c.Frequency, strings.Join(configFrequencies, ", "))
			}
		}
		if err := m.CheckParamWrites(); err != nil {
			bad(m.ID, "%v", err)
		}
		if m.Schedule != "" && !strings.HasPrefix(m.Schedule, "rate(") && !strings.HasPrefix(m.Schedule, "cron(") {
			bad(m.ID, "schedule %q: want rate(...) or cron(...)", m.Schedule)
		}
		if len(m.ReadActions)+len(m.WriteActions) == 0 {
			bad(m.ID, "declares no IAM action")
		}
		for _, a := range append(slices.Clone(m.ReadActions), m.WriteActions...) {
			svc, name, ok := strings.Cut(a, ":")
			if !ok || svc == "" || name == "" || strings.ContainsAny(a, "*? ") {
				bad(m.ID, "IAM action %q: want service:Action, without wildcards", a)
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("the rule catalog cannot be deployed:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// planRegion derives one region's stack from the rules; home is the home
// region, which alone wires the global rules (their events, Config rules and
// sweeps: each finding once, not once per region) and which every other
// region forwards global-service events to. A function none of whose
// triggers fires in the region is left out of it.
func planRegion(rules []rule.Rule, region, home string) regionPlan {
	isHome := region == home
	byFn := map[string]*functionPlan{}
	var names []string
	p := regionPlan{Region: region, Home: home}
	for _, r := range rules {
		m := r.Meta()
		f := byFn[m.Function]
		if f == nil {
			f = &functionPlan{Name: m.Function}
			byFn[m.Function] = f
			names = append(names, m.Function)
		}
		f.Rules = append(f.Rules, r)
		wired := false
		for i := range m.CloudTrail {
			c := &m.CloudTrail[i]
			if globalTrigger(m, c) && !isHome {
				p.Forward = addTrigger(p.Forward, m.ID, c)
				continue
			}
			f.Events = addTrigger(f.Events, m.ID, c)
			wired = true
		}
		for i := range m.Events {
			e := &m.Events[i]
			if globalService(m, e) && !isHome {
				p.ForwardServices = addService(p.ForwardServices, m.ID, e)
				continue
			}
			f.Services = addService(f.Services, m.ID, e)
			wired = true
		}
		if wired {
			f.EventRules = append(f.EventRules, r)
		}
		if m.Config != nil && (!m.Global || isHome) {
			f.ConfigRules = append(f.ConfigRules, r)
		}
		if m.Schedule != "" && (!m.Global || isHome) {
			f.Sweeps = append(f.Sweeps, r)
		}
		for _, a := range append(slices.Clone(m.ReadActions), m.WriteActions...) {
			if !slices.Contains(f.Actions, a) {
				f.Actions = append(f.Actions, a)
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f := byFn[n]
		sort.Strings(f.Actions)
		if f.hasTrigger() {
			p.Functions = append(p.Functions, *f)
		}
	}
	return p
}

// ownRoleARNs are the full ARNs of every Rampart function role (one per
// function, serving every region), plus extra: the loop guard's list.
func ownRoleARNs(rules []rule.Rule, s *Settings) []string {
	var out []string
	for _, f := range planRegion(rules, s.HomeRegion, s.HomeRegion).Functions {
		out = append(out, roleARN(s, f.Name))
	}
	for _, e := range s.OwnRoles {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out
}

// allEventGroups are every CloudTrail trigger of the catalog, merged by
// service, split into regional and global ones: what a member account
// forwards to the security account (organization mode).
func allEventGroups(rules []rule.Rule) (regional, global []eventGroup) {
	for _, r := range rules {
		m := r.Meta()
		for i := range m.CloudTrail {
			c := &m.CloudTrail[i]
			if globalTrigger(m, c) {
				global = addTrigger(global, m.ID, c)
			} else {
				regional = addTrigger(regional, m.ID, c)
			}
		}
	}
	return regional, global
}

// planTable lists what each region gets, for `make synth` (written to
// cdk.out/rampart-plan.txt and printed): per region, its functions with
// their event rules, Config rules and sweeps, and what it forwards.
func planTable(rules []rule.Rule, s *Settings) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Rampart plan: account %s, home region %s, %d regions (%s)\n", s.Account, s.HomeRegion, len(s.Regions), s.regionsNote())
	if o := s.Organization; o != nil {
		fmt.Fprintf(&b, "organization %s: member accounts of %s get the StackSet rampart-member (forwarding rules per region, role %s in %s)\n",
			o.ID, strings.Join(o.DeploymentTargets(), ", "), o.MemberRoleName, s.HomeRegion)
	}
	for _, region := range s.Regions {
		p := planRegion(rules, region, s.HomeRegion)
		role := "regional"
		if p.IsHome() {
			role = "home: global rules, topic, function roles"
		}
		fmt.Fprintf(&b, "\n%s (%s)\n", region, role)
		for _, f := range p.Functions {
			var events []string
			for _, g := range f.Events {
				events = append(events, fmt.Sprintf("%s[%d]", strings.TrimSuffix(g.Trigger.Source, ".amazonaws.com"), len(g.Trigger.Events)))
			}
			for _, g := range f.Services {
				events = append(events, g.Trigger.Source)
			}
			fmt.Fprintf(&b, "  %-10s events: %-28s config: %-40s sweeps: %s\n", f.Name, orNone(events), orNone(ids(f.ConfigRules)), orNone(ids(f.Sweeps)))
		}
		if len(p.Forward)+len(p.ForwardServices) > 0 {
			var fw []string
			for _, g := range p.Forward {
				fw = append(fw, strings.TrimSuffix(g.Trigger.Source, ".amazonaws.com"))
			}
			for _, g := range p.ForwardServices {
				fw = append(fw, g.Trigger.Source)
			}
			fmt.Fprintf(&b, "  forwards to %s: %s events, and Rampart's alarms\n", s.HomeRegion, strings.Join(fw, ", "))
		}
	}
	b.WriteString(withheldTable(rules, s))
	return b.String()
}

func ids(rules []rule.Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Meta().ID)
	}
	return out
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "-"
	}
	return strings.Join(v, ",")
}
