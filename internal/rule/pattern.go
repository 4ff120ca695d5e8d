package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// EventBridge patterns over an event's detail (EventTrigger.Detail).
//
// The bus applies the pattern before the function is invoked; the engine
// applies it again (Meta.MatchesEvent) so that an event the bus should not
// have delivered — a pattern edited by hand, a rule replayed with the CLI,
// an event forwarded by a broader rule — never reaches a rule that would
// act on it. Only the subset of EventBridge's pattern language below is
// supported; CheckPattern rejects anything else, and the catalog's tests
// run it on every rule, so a pattern the engine would misread cannot ship.
//
// Supported: nested objects; arrays of exact values (strings, numbers,
// booleans, null); and the content filters prefix, suffix,
// equals-ignore-case, anything-but (a value, a list of values, or a
// prefix), exists and numeric (=, <, <=, >, >= pairs). As in EventBridge, a
// field whose value is an array matches when any element does, and a
// missing field matches only {"exists": false}.

// MatchDetail reports whether the event detail matches pattern. A nil or
// empty pattern matches every detail; a detail that is not a JSON object
// matches no non-empty pattern.
func MatchDetail(pattern map[string]any, detail json.RawMessage) bool {
	if len(pattern) == 0 {
		return true
	}
	var d any
	if err := json.Unmarshal(detail, &d); err != nil {
		return false
	}
	obj, ok := d.(map[string]any)
	return ok && matchObject(pattern, obj)
}

func matchObject(pattern, obj map[string]any) bool {
	for key, p := range pattern {
		v, present := obj[key]
		switch p := p.(type) {
		case map[string]any:
			sub, ok := v.(map[string]any)
			if !present || !ok || !matchObject(p, sub) {
				return false
			}
		case []any:
			if !matchField(p, v, present) {
				return false
			}
		case []string:
			if !matchField(anys(p), v, present) {
				return false
			}
		default:
			return false // not a pattern CheckPattern accepts
		}
	}
	return true
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// matchField reports whether one of the filters matches the field's value
// (or, for an array value, one of its elements).
func matchField(filters []any, v any, present bool) bool {
	for _, f := range filters {
		if m, ok := f.(map[string]any); ok {
			if e, ok := m["exists"]; ok && len(m) == 1 {
				if want, ok := e.(bool); ok && want == (present && !emptyArray(v)) {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		if arr, ok := v.([]any); ok {
			if slices.ContainsFunc(arr, func(el any) bool { return matchOne(f, el) }) {
				return true
			}
			continue
		}
		if matchOne(f, v) {
			return true
		}
	}
	return false
}

func emptyArray(v any) bool {
	arr, ok := v.([]any)
	return ok && len(arr) == 0
}

// matchOne applies one filter to one scalar value.
func matchOne(f, v any) bool {
	m, ok := f.(map[string]any)
	if !ok {
		return equalValue(f, v)
	}
	if len(m) != 1 {
		return false
	}
	s, isString := v.(string)
	for op, arg := range m {
		switch op {
		case "prefix":
			if a, ok := arg.(string); ok {
				return isString && strings.HasPrefix(s, a)
			}
			if am, ok := arg.(map[string]any); ok {
				a, ok := am["equals-ignore-case"].(string)
				return ok && isString && len(s) >= len(a) && strings.EqualFold(s[:len(a)], a)
			}
		case "suffix":
			a, ok := arg.(string)
			return ok && isString && strings.HasSuffix(s, a)
		case "equals-ignore-case":
			a, ok := arg.(string)
			return ok && isString && strings.EqualFold(s, a)
		case "anything-but":
			switch a := arg.(type) {
			case []any:
				return !slices.ContainsFunc(a, func(x any) bool { return equalValue(x, v) })
			case []string:
				return !slices.ContainsFunc(anys(a), func(x any) bool { return equalValue(x, v) })
			case map[string]any:
				p, ok := a["prefix"].(string)
				return ok && len(a) == 1 && isString && !strings.HasPrefix(s, p)
			default:
				return !equalValue(a, v)
			}
		case "numeric":
			n, ok := number(v)
			return ok && numericMatch(arg, n)
		}
	}
	return false
}

func equalValue(want, v any) bool {
	if want == nil || v == nil {
		return want == nil && v == nil
	}
	if a, ok := number(want); ok {
		b, ok := number(v)
		return ok && a == b
	}
	return want == v
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// numericMatch applies a numeric filter's (operator, operand) pairs.
func numericMatch(arg any, n float64) bool {
	pairs, ok := arg.([]any)
	if !ok || len(pairs) == 0 || len(pairs)%2 != 0 {
		return false
	}
	for i := 0; i < len(pairs); i += 2 {
		op, _ := pairs[i].(string)
		x, ok := number(pairs[i+1])
		if !ok {
			return false
		}
		var hold bool
		switch op {
		case "=":
			hold = n == x
		case "<":
			hold = n < x
		case "<=":
			hold = n <= x
		case ">":
			hold = n > x
		case ">=":
			hold = n >= x
		default:
			return false
		}
		if !hold {
			return false
		}
	}
	return true
}

// CheckPattern rejects a detail pattern that uses anything MatchDetail does
// not support, or that is malformed (an empty list matches nothing; a
// content filter with the wrong operand type): such a pattern could mean
// one thing at the bus and another in the engine.
func CheckPattern(pattern map[string]any) error {
	return checkObject(pattern, "detail")
}

func checkObject(pattern map[string]any, path string) error {
	var errs []error
	keys := make([]string, 0, len(pattern))
	for k := range pattern {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		at := path + "." + key
		if strings.HasPrefix(key, "$") {
			errs = append(errs, fmt.Errorf("%s: %s is not supported", at, key))
			continue
		}
		switch p := pattern[key].(type) {
		case map[string]any:
			errs = append(errs, checkObject(p, at))
		case []string:
			if len(p) == 0 {
				errs = append(errs, fmt.Errorf("%s: an empty list matches nothing", at))
			}
		case []any:
			if len(p) == 0 {
				errs = append(errs, fmt.Errorf("%s: an empty list matches nothing", at))
			}
			for _, f := range p {
				errs = append(errs, checkFilter(f, at))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: want an object or a list of values, got %T", at, p))
		}
	}
	return errors.Join(errs...)
}

func checkFilter(f any, at string) error {
	switch f := f.(type) {
	case nil, string, bool, float64, int:
		return nil
	case map[string]any:
		if len(f) != 1 {
			return fmt.Errorf("%s: a content filter has exactly one operator, got %v", at, f)
		}
		for op, arg := range f {
			ok := false
			switch op {
			case "prefix":
				_, ok = arg.(string)
				if m, isMap := arg.(map[string]any); isMap {
					_, ok = m["equals-ignore-case"].(string)
					ok = ok && len(m) == 1
				}
			case "suffix", "equals-ignore-case":
				_, ok = arg.(string)
			case "exists":
				_, ok = arg.(bool)
			case "anything-but":
				switch a := arg.(type) {
				case string, float64, int, bool:
					ok = true
				case []string:
					ok = len(a) > 0
				case []any:
					ok = len(a) > 0
					for _, x := range a {
						if _, m := x.(map[string]any); m {
							ok = false
						}
					}
				case map[string]any:
					_, ok = a["prefix"].(string)
					ok = ok && len(a) == 1
				}
			case "numeric":
				ok = numericWellFormed(arg)
			default:
				return fmt.Errorf("%s: content filter %q is not supported by the engine", at, op)
			}
			if !ok {
				return fmt.Errorf("%s: malformed %s filter %v", at, op, arg)
			}
		}
		return nil
	}
	return fmt.Errorf("%s: unsupported value %v (%T)", at, f, f)
}

func numericWellFormed(arg any) bool {
	pairs, ok := arg.([]any)
	if !ok || len(pairs) == 0 || len(pairs)%2 != 0 {
		return false
	}
	for i := 0; i < len(pairs); i += 2 {
		op, _ := pairs[i].(string)
		if _, ok := number(pairs[i+1]); !ok || !slices.Contains([]string{"=", "<", "<=", ">", ">="}, op) {
			return false
		}
	}
	return true
}
