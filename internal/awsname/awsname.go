// Package awsname checks the shapes of AWS names and identifiers that
// Rampart reads from its configuration and its payloads: account IDs, region
// names, organization IDs, IAM role names with their paths, and Rampart's
// rule IDs.
//
// It does with a few byte loops what the regular expressions in each doc
// comment say, so that no package compiles a regular expression at cold
// start (a bounded repetition such as {1,64} compiles into that many
// copies: thousands of allocations before the first event). The tests hold
// every function to its expression. It knows nothing else: no SDK, no I/O.
package awsname

import "strings"

// Account reports whether s is a 12-digit AWS account ID: ^[0-9]{12}$.
func Account(s string) bool {
	return len(s) == 12 && all(s, digit)
}

// Region reports whether s is shaped like an AWS region name (us-east-1,
// us-gov-west-1, cn-north-1): ^[a-z]{2}(-[a-z]+)+-[0-9]+$.
func Region(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 || !all(parts[0], lower) {
		return false
	}
	for _, p := range parts[1 : len(parts)-1] {
		if p == "" || !all(p, lower) {
			return false
		}
	}
	last := parts[len(parts)-1]
	return last != "" && all(last, digit)
}

// OrganizationID reports whether s is an AWS Organizations ID:
// ^o-[a-z0-9]{10,32}$.
func OrganizationID(s string) bool {
	id, ok := strings.CutPrefix(s, "o-")
	return ok && len(id) >= 10 && len(id) <= 32 && all(id, lowerOrDigit)
}

// RolePath reports whether s is an IAM role name with an optional path
// ("rampart-member", "rampart/rampart-member"): segments of IAM's name
// characters, the last (the name) at most 64 long:
// ^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$.
func RolePath(s string) bool {
	segs := strings.Split(s, "/")
	for _, seg := range segs {
		if seg == "" || !all(seg, iamNameChar) {
			return false
		}
	}
	return len(segs[len(segs)-1]) <= 64
}

// RuleID reports whether s is shaped like a Rampart rule ID (kebab-case:
// sg-open-world): ^[a-z0-9]+(-[a-z0-9]+)*$.
func RuleID(s string) bool {
	for _, p := range strings.Split(s, "-") {
		if p == "" || !all(p, lowerOrDigit) {
			return false
		}
	}
	return true
}

func all(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func digit(c byte) bool        { return c >= '0' && c <= '9' }
func lower(c byte) bool        { return c >= 'a' && c <= 'z' }
func lowerOrDigit(c byte) bool { return lower(c) || digit(c) }

// iamNameChar is [\w+=,.@-]: \w is ASCII letters, digits and underscore.
func iamNameChar(c byte) bool {
	return lowerOrDigit(c) || (c >= 'A' && c <= 'Z') || strings.IndexByte("_+=,.@-", c) >= 0
}
