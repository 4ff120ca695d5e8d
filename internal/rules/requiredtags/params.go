package requiredtags

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-aws/rampart/internal/rule"
)

// splitList splits a comma-separated list, trimming blanks and dropping empties.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

const maxKey, maxValue = 128, 256

func checkKey(k string) error {
	if k == "" || len(k) > maxKey {
		return fmt.Errorf("tag key %q: want 1 to %d characters", k, maxKey)
	}
	if strings.HasPrefix(strings.ToLower(k), "aws:") {
		return fmt.Errorf("tag key %q: the aws: prefix is reserved", k)
	}
	return nil
}

// parseKeys reads requiredTagKeys: "owner,cost-center".
func parseKeys(s string) ([]string, error) {
	keys := splitList(s)
	if len(keys) == 0 {
		return nil, fmt.Errorf("at least one tag key is required")
	}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func checkKeys(s string) error { _, err := parseKeys(s); return err }

// parseAllowed reads allowedValues: entries "key=v1|v2|v3" separated by ";",
// e.g. "env=prod|staging|dev;data-class=public|internal". A key listed here
// must, when present, hold one of its values (exact, case-sensitive).
func parseAllowed(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, entry := range strings.Split(s, ";") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		k, vs, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, fmt.Errorf("%q: want key=value1|value2", entry)
		}
		if err := checkKey(k); err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("key %q listed twice", k)
		}
		var values []string
		for _, v := range strings.Split(vs, "|") {
			if v = strings.TrimSpace(v); v != "" {
				if len(v) > maxValue {
					return nil, fmt.Errorf("value of %q longer than %d characters", k, maxValue)
				}
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			return nil, fmt.Errorf("key %q: no allowed value", k)
		}
		out[k] = values
	}
	return out, nil
}

func checkAllowed(s string) error { _, err := parseAllowed(s); return err }

// parseDefaults reads defaultTags: "cost-center=unassigned,owner=platform".
func parseDefaults(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, entry := range splitList(s) {
		k, v, ok := strings.Cut(entry, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return nil, fmt.Errorf("%q: want key=value", entry)
		}
		if err := checkKey(k); err != nil {
			return nil, err
		}
		if len(v) > maxValue {
			return nil, fmt.Errorf("value of %q longer than %d characters", k, maxValue)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("key %q listed twice", k)
		}
		out[k] = v
	}
	return out, nil
}

func checkDefaults(s string) error { _, err := parseDefaults(s); return err }

// parseTypes reads resourceTypes: a comma-separated subset of Supported.
func parseTypes(s string) ([]string, error) {
	types := splitList(s)
	if len(types) == 0 {
		return nil, fmt.Errorf("at least one resource type is required")
	}
	for _, t := range types {
		if !slices.Contains(Supported, t) {
			return nil, fmt.Errorf("%s is not supported (supported: %s)", t, strings.Join(Supported, ", "))
		}
	}
	return types, nil
}

func checkTypes(s string) error { _, err := parseTypes(s); return err }

// policy is the rule's typed parameters.
type policy struct {
	keys     []string
	allowed  map[string][]string
	defaults map[string]string
	types    []string
}

// policyOf parses the resolved parameters, once.
func policyOf(p rule.Params) (policy, error) {
	var pol policy
	var err error
	if pol.keys, err = parseKeys(p[ParamKeys]); err != nil {
		return pol, fmt.Errorf("%s: %w", ParamKeys, err)
	}
	if pol.allowed, err = parseAllowed(p[ParamAllowed]); err != nil {
		return pol, fmt.Errorf("%s: %w", ParamAllowed, err)
	}
	if pol.defaults, err = parseDefaults(p[ParamDefaults]); err != nil {
		return pol, fmt.Errorf("%s: %w", ParamDefaults, err)
	}
	if pol.types, err = parseTypes(p[ParamTypes]); err != nil {
		return pol, fmt.Errorf("%s: %w", ParamTypes, err)
	}
	return pol, nil
}
