package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/rampart-aws/rampart/pkg/rule"
)

// This file derives, in plain Go and without the CDK, what one region's stack
// holds: which functions, which EventBridge patterns, which Config rules,
// which schedules and which IAM actions. stack.go turns the plan into
// constructs; the tests check both.

// regionPlan is everything one account-region stack deploys.
type regionPlan struct {
	Region    string
	Functions []functionPlan // sorted by name
}

// functionPlan is one Lambda function and the wiring of its rules in a region.
type functionPlan struct {
	Name string
	// Rules are all the function's rules, in catalog order: the function
	// carries all of them whatever the region, and its role grants all
	// their actions.
	Rules []rule.Rule
	// EventRules are the rules with a CloudTrail trigger delivered in this
	// region.
	EventRules []rule.Rule
	// ConfigRules are the rules with a Config trigger.
	ConfigRules []rule.Rule
	// Sweeps are the rules with a schedule.
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

// roleName is the name of a function's IAM role in a region. IAM names are
// account-wide, hence the region; the names are plain strings so every
// function can list every Rampart role in RAMPART_OWN_ROLES without a
// CloudFormation reference (and so without a circular dependency).
func roleName(function, region string) string {
	return "rampart-" + function + "-" + region
}

// functionName is the Lambda function's name (unique per region).
func functionName(function string) string { return "rampart-" + function }

// eventRuleName names the EventBridge rule of a rule's CloudTrail trigger.
func eventRuleName(ruleID string) string { return "rampart-" + ruleID }

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

// eventPattern is the EventBridge pattern of a CloudTrail trigger, as it
// appears in the template.
func eventPattern(c *rule.CloudTrailTrigger) (map[string]any, error) {
	src, err := eventSource(c.Source)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"source":      []string{src},
		"detail-type": c.EventBridgeDetailTypes(),
		"detail": map[string]any{
			"eventSource": []string{c.Source},
			"eventName":   slices.Clone(c.Events),
		},
	}, nil
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
		if len(roleName(m.Function, "ap-southeast-2")) > 64 {
			bad(m.ID, "function name %q is too long for an IAM role name", m.Function)
		}
		if len(m.ConfigRuleName()) > 128 {
			bad(m.ID, "Config rule name %q is longer than 128 characters", m.ConfigRuleName())
		}
		if len(sweepRuleName(m.ID)) > 64 {
			bad(m.ID, "ID too long for an EventBridge rule name")
		}
		if len(m.CloudTrail) == 0 && m.Config == nil && m.Schedule == "" {
			bad(m.ID, "declares no trigger (CloudTrail, Config or Schedule)")
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

// globalHome is the home region of a global rule (rule.Meta.Global), or ""
// for a regional one. A global rule's sweep runs in one region only — us-east-1
// if deployed, else the first deployed region (the IAM API answers the same
// everywhere) — rather than in every region, which would report every
// finding once per region.
func globalHome(m *rule.Meta, regions []string) string {
	if !m.Global {
		return ""
	}
	if home := "us-east-1"; slices.Contains(regions, home) || len(regions) == 0 {
		return home
	}
	return regions[0]
}

// sweepsIn reports whether the rule's schedule runs in the region.
func sweepsIn(m *rule.Meta, region string, regions []string) bool {
	if m.Schedule == "" {
		return false
	}
	home := globalHome(m, regions)
	return home == "" || home == region
}

// planRegion derives one region's stack from the rules; regions are all the
// deployed regions. A function none of whose triggers fires in the region is
// left out of it.
func planRegion(rules []rule.Rule, region string, regions []string) regionPlan {
	byFn := map[string]*functionPlan{}
	var names []string
	for _, r := range rules {
		m := r.Meta()
		f := byFn[m.Function]
		if f == nil {
			f = &functionPlan{Name: m.Function}
			byFn[m.Function] = f
			names = append(names, m.Function)
		}
		f.Rules = append(f.Rules, r)
		if slices.ContainsFunc(m.CloudTrail, func(c rule.CloudTrailTrigger) bool { return c.DeliveredIn(region) }) {
			f.EventRules = append(f.EventRules, r)
		}
		if m.Config != nil {
			f.ConfigRules = append(f.ConfigRules, r)
		}
		if sweepsIn(m, region, regions) {
			f.Sweeps = append(f.Sweeps, r)
		}
		for _, a := range append(slices.Clone(m.ReadActions), m.WriteActions...) {
			if !slices.Contains(f.Actions, a) {
				f.Actions = append(f.Actions, a)
			}
		}
	}
	sort.Strings(names)
	p := regionPlan{Region: region}
	for _, n := range names {
		f := byFn[n]
		sort.Strings(f.Actions)
		if f.hasTrigger() {
			p.Functions = append(p.Functions, *f)
		}
	}
	return p
}

// ownRoleNames are the role names of every Rampart function in every
// deployed region, plus extra: the loop guard's list.
func ownRoleNames(rules []rule.Rule, regions []string, extra []string) []string {
	var out []string
	for _, region := range regions {
		for _, f := range planRegion(rules, region, regions).Functions {
			out = append(out, roleName(f.Name, region))
		}
	}
	for _, e := range extra {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out
}

// unplacedRules are the rules whose CloudTrail trigger is pinned to a region
// none of the stacks is in: their events would never reach Rampart.
func unplacedRules(rules []rule.Rule, regions []string) []string {
	var out []string
	for _, r := range rules {
		m := r.Meta()
		for _, c := range m.CloudTrail {
			if c.Region != "" && !slices.Contains(regions, c.Region) {
				out = append(out, fmt.Sprintf("%s (CloudTrail events in %s)", m.ID, c.Region))
			}
		}
	}
	return out
}
