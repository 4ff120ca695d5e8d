package rule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ParamWrite is write actions that only a configuration enables: a rule
// that acts only when the deployment names a role, a bucket or a key must
// not hold the permission when it does not (least privilege: an unset
// parameter means no grant).
type ParamWrite struct {
	// Actions are IAM actions of the rule's WriteActions.
	Actions []string
	// When are conditions on the resolved parameters, all of which must
	// hold: "name" (the parameter is not empty), "name=value" (it equals
	// value) or "name~=value" (the parameter is a comma-separated list and
	// value is one of its items, as in CSS's [attr~=value]). An action that
	// appears in several entries is granted when any of them holds.
	When []string
}

// Condition splits a When condition into the parameter it names, the value
// it compares with, and how: "" (set), "=" (equals) or "~=" (the list
// includes the value).
func Condition(c string) (name, op, value string) {
	name, value, eq := strings.Cut(c, "=")
	switch {
	case !eq:
		return c, "", ""
	case strings.HasSuffix(name, "~"):
		return strings.TrimSuffix(name, "~"), "~=", value
	default:
		return name, "=", value
	}
}

// ListIncludes reports whether the comma-separated list holds item (items
// trimmed, compared case-insensitively).
func ListIncludes(list, item string) bool {
	for v := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), item) {
			return true
		}
	}
	return false
}

// Holds reports whether every condition of w holds for the resolved p.
func (w *ParamWrite) Holds(p Params) bool {
	for _, c := range w.When {
		name, op, value := Condition(c)
		switch op {
		case "":
			if p[name] == "" {
				return false
			}
		case "=":
			if p[name] != value {
				return false
			}
		case "~=":
			if !ListIncludes(p[name], value) {
				return false
			}
		}
	}
	return true
}

// GrantedWriteActions are the write actions the rule needs under the
// resolved parameters p: WriteActions, less every gated action none of
// whose ParamWrites entries holds. The order is WriteActions'.
func (m *Meta) GrantedWriteActions(p Params) []string {
	var out []string
	for _, a := range m.WriteActions {
		gated, enabled := false, false
		for i := range m.ParamWrites {
			w := &m.ParamWrites[i]
			if slices.Contains(w.Actions, a) {
				gated = true
				enabled = enabled || w.Holds(p)
			}
		}
		if !gated || enabled {
			out = append(out, a)
		}
	}
	return out
}

// CheckParamWrites rejects entries that cannot gate anything: an action not
// in WriteActions, a condition naming no declared parameter, an entry with
// no action or no condition.
func (m *Meta) CheckParamWrites() error {
	var errs []error
	for i, w := range m.ParamWrites {
		if len(w.Actions) == 0 || len(w.When) == 0 {
			errs = append(errs, fmt.Errorf("ParamWrites[%d]: needs actions and conditions", i))
		}
		for _, a := range w.Actions {
			if !slices.Contains(m.WriteActions, a) {
				errs = append(errs, fmt.Errorf("ParamWrites[%d]: %s is not one of WriteActions", i, a))
			}
		}
		for _, c := range w.When {
			name, _, _ := Condition(c)
			if !slices.ContainsFunc(m.Params, func(p Param) bool { return p.Name == name }) {
				errs = append(errs, fmt.Errorf("ParamWrites[%d]: condition %q names no parameter", i, c))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rule %s: %w", m.ID, err)
	}
	return nil
}
