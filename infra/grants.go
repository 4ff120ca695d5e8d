package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-aws/rampart/internal/rule"
)

// Least privilege for the rules' write actions. A rule's write action that
// only a parameter enables (rule.Meta.ParamWrites: recreating a Config
// recorder with the named role, a delivery channel to the named bucket, the
// baseline trail; setting the named default EBS key; creating flow logs to a
// configured destination) is granted only when the deployed parameters
// (rampart:params over the rule's defaults) enable it, as iam:PassRole is
// granted only on the roles parameters name (passRoles). The function role
// (roles.go) and the member role (member.go) follow the same rule.

// grantedActions are the actions the rules need in this deployment: every
// read action and the write actions the deployed parameters enable, sorted
// and without duplicates. alerts keeps rule.AlertAPI (sns:Publish), which
// the function role grants on the topic only and the member role not at all.
func grantedActions(rules []rule.Rule, s *Settings, alerts bool) ([]string, error) {
	var out []string
	for _, r := range rules {
		m := r.Meta()
		p, err := m.Resolve(s.Params[m.ID])
		if err != nil {
			return nil, err
		}
		for _, a := range slices.Concat(m.ReadActions, m.GrantedWriteActions(p)) {
			if (alerts || a != rule.AlertAPI) && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// withheldActions are the write actions the rules declare that this
// deployment does not grant, for the plan table: what setting a parameter
// would add.
func withheldActions(rules []rule.Rule, s *Settings) ([]string, error) {
	granted, err := grantedActions(rules, s, true)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rules {
		for _, a := range r.Meta().WriteActions {
			if !slices.Contains(granted, a) && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// withheldTable lists, per function, the write actions this deployment
// withholds because their parameters are unset (for planTable).
func withheldTable(rules []rule.Rule, s *Settings) string {
	byFn := map[string][]rule.Rule{}
	for _, r := range rules {
		byFn[r.Meta().Function] = append(byFn[r.Meta().Function], r)
	}
	var lines []string
	for _, fn := range sortedKeys(byFn) {
		w, err := withheldActions(byFn[fn], s)
		if err != nil || len(w) == 0 {
			continue // Settings.Check reports parameter errors
		}
		lines = append(lines, fmt.Sprintf("  %-10s %s\n", fn, strings.Join(w, ", ")))
	}
	if len(lines) == 0 {
		return ""
	}
	return "\nwrite actions not granted (the rampart:params that enable them are unset):\n" + strings.Join(lines, "")
}
