package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/rule"
)

// Other AWS services' events (Meta.Events: EC2 state changes, Health,
// findings…) are wired like CloudTrail's: one EventBridge rule per function,
// source and detail-type, carrying the union of the rules' detail filters.
// A trigger pinned to a region (Health's and Trusted Advisor's global
// events, delivered in us-east-1 only) is judged in the home region: the
// other regions forward it there, as they forward global-service CloudTrail
// events.

// serviceGroup is one service's events of one detail-type that one
// EventBridge rule selects, merged across rules.
type serviceGroup struct {
	Trigger rule.EventTrigger // Source, DetailType and the merged Detail
	RuleIDs []string
}

// addService merges a trigger into the groups, by source and detail-type.
// Detail filters merge when they filter the same fields with lists of
// values (their union); otherwise the rule takes every event of the type
// and each rule's OnEvent picks its own.
func addService(groups []serviceGroup, ruleID string, e *rule.EventTrigger) []serviceGroup {
	for i := range groups {
		g := &groups[i]
		if g.Trigger.Source == e.Source && g.Trigger.DetailType == e.DetailType {
			g.Trigger.Detail = mergeDetail(g.Trigger.Detail, e.Detail)
			if !slices.Contains(g.RuleIDs, ruleID) {
				g.RuleIDs = append(g.RuleIDs, ruleID)
			}
			return groups
		}
	}
	t := rule.EventTrigger{Source: e.Source, DetailType: e.DetailType, Detail: maps.Clone(e.Detail), Region: e.Region}
	groups = append(groups, serviceGroup{Trigger: t, RuleIDs: []string{ruleID}})
	slices.SortFunc(groups, func(a, b serviceGroup) int {
		return cmp.Or(cmp.Compare(a.Trigger.Source, b.Trigger.Source), cmp.Compare(a.Trigger.DetailType, b.Trigger.DetailType))
	})
	return groups
}

// mergeDetail is the union of two detail filters, or nil (no filter) when
// they cannot be merged field by field.
func mergeDetail(a, b map[string]any) map[string]any {
	if a == nil || b == nil || !slices.Equal(slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b))) {
		return nil
	}
	out := map[string]any{}
	for k, av := range a {
		as, ok1 := av.([]any)
		bs, ok2 := b[k].([]any)
		if !ok1 || !ok2 {
			return nil
		}
		u := slices.Clone(as)
		for _, v := range bs {
			if !slices.Contains(u, v) {
				u = append(u, v)
			}
		}
		out[k] = u
	}
	return out
}

// servicePattern is the EventBridge pattern of a service trigger.
func servicePattern(e *rule.EventTrigger) map[string]any {
	p := map[string]any{"source": []any{e.Source}, "detail-type": []any{e.DetailType}}
	if e.Detail != nil {
		p["detail"] = e.Detail
	}
	return p
}

// globalService reports whether a service trigger's events are judged in
// the home region only: a global rule's, or one pinned to a region.
func globalService(m *rule.Meta, e *rule.EventTrigger) bool { return m.Global || e.Region != "" }

// serviceSlug names a source and detail-type in a rule name:
// aws.ec2 + "EC2 Instance State-change Notification" →
// ec2-ec2-instance-state-change-notification.
func serviceSlug(e *rule.EventTrigger) string {
	s := strings.TrimPrefix(e.Source, "aws.") + "-" + e.DetailType
	return strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s), "-")
}

// ruleName64 cuts an EventBridge rule name to the service's 64 characters.
func ruleName64(name string) string {
	if len(name) > 64 {
		name = strings.TrimRight(name[:64], "-")
	}
	return name
}

// serviceRuleName names the EventBridge rule sending a service's events
// to a function.
func serviceRuleName(function string, e *rule.EventTrigger) string {
	return ruleName64("rampart-" + function + "-" + serviceSlug(e))
}

// forwardServiceName names a forwarding rule of a service's events; the
// suffix survives the cut.
func forwardServiceName(e *rule.EventTrigger, suffix string) string {
	name := "rampart-forward-" + serviceSlug(e)
	if n := 64 - len(suffix); len(name) > n {
		name = strings.TrimRight(name[:n], "-")
	}
	return name + suffix
}

// NewServiceRule is the EventBridge rule that sends one service's events
// of one detail-type to a function.
func NewServiceRule(scope constructs.Construct, function string, g *serviceGroup, fn *RemediationFunction) awsevents.Rule {
	name := serviceRuleName(function, &g.Trigger)
	fn.watchRule(name)
	return awsevents.NewRule(scope, jsii.String("Service-"+strings.TrimPrefix(name, "rampart-")), &awsevents.RuleProps{
		RuleName:     jsii.String(name),
		Description:  jsii.String(truncate(fmt.Sprintf("Rampart %s: %s %q events of %s", function, g.Trigger.Source, g.Trigger.DetailType, strings.Join(g.RuleIDs, ", ")), 512)),
		EventPattern: cdkPattern(servicePattern(&g.Trigger)),
		Targets:      &[]awsevents.IRuleTarget{target(fn)},
	})
}

// allServiceGroups are every service trigger of the catalog, merged, split
// into regional and global ones: what a member account forwards
// (organization mode).
func allServiceGroups(rules []rule.Rule) (regional, global []serviceGroup) {
	for _, r := range rules {
		m := r.Meta()
		for i := range m.Events {
			e := &m.Events[i]
			if globalService(m, e) {
				global = addService(global, m.ID, e)
			} else {
				regional = addService(regional, m.ID, e)
			}
		}
	}
	return regional, global
}

// checkService rejects a service trigger the infrastructure cannot wire.
func checkService(e *rule.EventTrigger) error {
	switch {
	case !strings.HasPrefix(e.Source, "aws.") || strings.ContainsAny(e.Source, "* "):
		return fmt.Errorf("event source %q: want an AWS service's, aws.<service>", e.Source)
	case e.DetailType == "":
		return fmt.Errorf("event trigger of %s names no detail-type", e.Source)
	case e.Region != "" && !strings.Contains(e.Region, "-"):
		return fmt.Errorf("event trigger region %q is not a region", e.Region)
	}
	return nil
}
