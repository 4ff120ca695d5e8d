// Package iampolicy reads IAM policy documents — an S3 bucket policy as S3
// returns it (a JSON string) or as CloudTrail records it (an object) — in
// every shape AWS accepts: one statement or a list, one action or a list,
// "*" or {"AWS": …} principals, condition values as strings, numbers or
// booleans. It answers the questions rules ask of a statement: whom it applies
// to, which actions and resources it covers, and whether a condition pins it
// to fixed, trusted values.
//
// It is pure: no AWS calls, no knowledge of any rule.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/rampart-aws/rampart/internal/ipspace"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Document is a policy document.
type Document struct {
	Version   string                  `json:"Version,omitempty"`
	ID        string                  `json:"Id,omitempty"`
	Statement trigger.List[Statement] `json:"Statement"`
}

// Statement is one policy statement.
type Statement struct {
	Sid          string               `json:"Sid,omitempty"`
	Effect       string               `json:"Effect"`
	Principal    *Principal           `json:"Principal,omitempty"`
	NotPrincipal *Principal           `json:"NotPrincipal,omitempty"`
	Action       trigger.List[string] `json:"Action,omitempty"`
	NotAction    trigger.List[string] `json:"NotAction,omitempty"`
	Resource     trigger.List[string] `json:"Resource,omitempty"`
	NotResource  trigger.List[string] `json:"NotResource,omitempty"`
	// Condition maps an operator (StringEquals, IpAddress, …) to its keys
	// and their values.
	Condition map[string]map[string]trigger.List[trigger.String] `json:"Condition,omitempty"`
}

// Principal is a Principal or NotPrincipal element.
type Principal struct {
	// All is the bare "*".
	All bool
	// Values maps a principal type (AWS, Service, CanonicalUser, Federated)
	// to its values.
	Values map[string][]string
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *Principal) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	*p = Principal{}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if s == "*" {
			p.All = true
		} else {
			p.Values = map[string][]string{"AWS": {s}}
		}
		return nil
	}
	var m map[string]trigger.List[string]
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("principal: %w", err)
	}
	p.Values = make(map[string][]string, len(m))
	for k, v := range m {
		p.Values[k] = v
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (p Principal) MarshalJSON() ([]byte, error) {
	if p.All {
		return []byte(`"*"`), nil
	}
	return json.Marshal(p.Values)
}

// values are the principal's values of one type, matched case-insensitively
// on the type name.
func (p *Principal) values(kind string) []string {
	if p == nil {
		return nil
	}
	for k, v := range p.Values {
		if strings.EqualFold(k, kind) {
			return v
		}
	}
	return nil
}

// Everyone reports whether the principal is anybody at all: "*",
// {"AWS": "*"} or {"CanonicalUser": "*"}.
func (p *Principal) Everyone() bool {
	if p == nil {
		return false
	}
	if p.All {
		return true
	}
	for _, kind := range []string{"AWS", "CanonicalUser"} {
		for _, v := range p.values(kind) {
			if v == "*" {
				return true
			}
		}
	}
	return false
}

// HasService reports whether the principal names the service principal
// (e.g. cloudtrail.amazonaws.com).
func (p *Principal) HasService(service string) bool {
	for _, v := range p.values("Service") {
		if strings.EqualFold(v, service) {
			return true
		}
	}
	return false
}

// Parse reads a policy document from its JSON, or from a JSON string holding
// it (as S3's GetBucketPolicy and some CloudTrail records give it).
func Parse(raw []byte) (*Document, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		raw = []byte(strings.TrimSpace(s))
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("policy: empty document")
	}
	var d Document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	for i, s := range d.Statement {
		if !strings.EqualFold(s.Effect, "Allow") && !strings.EqualFold(s.Effect, "Deny") {
			return nil, fmt.Errorf("policy: statement %d: Effect %q", i, s.Effect)
		}
	}
	return &d, nil
}

// Allows reports whether the statement's effect is Allow.
func (s *Statement) Allows() bool { return strings.EqualFold(s.Effect, "Allow") }

// Denies reports whether the statement's effect is Deny.
func (s *Statement) Denies() bool { return strings.EqualFold(s.Effect, "Deny") }

// Name is the statement's Sid, or its position when it has none.
func (s *Statement) Name(i int) string {
	if s.Sid != "" {
		return s.Sid
	}
	return fmt.Sprintf("#%d", i+1)
}

// AppliesToEveryone reports whether the statement applies to any principal
// at all: "*" principals, or a NotPrincipal (everyone but those named).
func (s *Statement) AppliesToEveryone() bool {
	return s.Principal.Everyone() || s.NotPrincipal != nil
}

// AppliesToService reports whether the statement applies to the service
// principal: named, covered by "*", or not excluded by a NotPrincipal.
func (s *Statement) AppliesToService(service string) bool {
	if s.NotPrincipal != nil {
		return !s.NotPrincipal.Everyone() && !s.NotPrincipal.HasService(service)
	}
	return s.Principal.Everyone() || s.Principal.HasService(service)
}

// CoversAction reports whether the statement covers the action (e.g.
// s3:PutObject), through Action patterns or by not excluding it in NotAction.
func (s *Statement) CoversAction(action string) bool {
	if len(s.NotAction) > 0 {
		return !anyMatch(s.NotAction, action)
	}
	return anyMatch(s.Action, action)
}

// CoversResource reports whether the statement covers the resource ARN. A
// statement that names no resource at all covers everything.
func (s *Statement) CoversResource(arn string) bool {
	switch {
	case len(s.NotResource) > 0:
		return !anyMatch(s.NotResource, arn)
	case len(s.Resource) > 0:
		return anyMatch(s.Resource, arn)
	}
	return true
}

// Actions lists the statement's actions for a message ("all but …" for NotAction).
func (s *Statement) Actions() string {
	if len(s.NotAction) > 0 {
		return "all actions but " + strings.Join(s.NotAction, ", ")
	}
	return strings.Join(s.Action, ", ")
}

// ConditionKeys are the condition keys the statement tests, lower-cased.
func (s *Statement) ConditionKeys() []string {
	var out []string
	for _, keys := range s.Condition {
		for k := range keys {
			out = append(out, strings.ToLower(k))
		}
	}
	return out
}

// restrictingKeys are the condition keys whose fixed values make a statement
// non-public in S3's sense ("The meaning of public" in the S3 User Guide):
// they pin the caller to an account, organisation, network or resource the
// owner controls. aws:SourceIp is judged separately.
var restrictingKeys = map[string]bool{
	"aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:sourceowner": true, "aws:sourceaccount": true, "aws:sourceorgid": true, "aws:sourceorgpaths": true,
	"aws:principalaccount": true, "aws:principalarn": true, "aws:principalorgid": true, "aws:principalorgpaths": true,
	"aws:userid": true, "s3:x-amz-server-side-encryption-aws-kms-key-id": true,
	"s3:dataaccesspointaccount": true, "s3:dataaccesspointarn": true,
}

// Restricted reports whether a condition pins the statement to fixed,
// trusted values: a restricting key under a positive operator (not a
// negated one, not …IfExists, which passes when the key is absent) with no
// wildcard value, or aws:SourceIp under IpAddress limited to ranges that
// neither exceed S3's bound nor together cover the world (see anyWorld).
// NotIpAddress never pins: it admits every address it does not list, and,
// like every negated operator, passes requests that carry no aws:SourceIp
// at all (those through a VPC endpoint), even when it lists the world.
func (s *Statement) Restricted() bool {
	for op, keys := range s.Condition {
		lop := strings.ToLower(op)
		lop = strings.TrimPrefix(strings.TrimPrefix(lop, "forallvalues:"), "foranyvalue:")
		if strings.Contains(lop, "not") || strings.HasSuffix(lop, "ifexists") || lop == "null" {
			continue
		}
		for key, vals := range keys {
			k := strings.ToLower(key)
			switch {
			case k == "aws:sourceip" && lop == "ipaddress":
				if len(vals) > 0 && !anyWorld(vals) {
					return true
				}
			case restrictingKeys[k]:
				if len(vals) > 0 && !anyWildcard(vals) {
					return true
				}
			}
		}
	}
	return false
}

// Public reports whether the statement grants access to anybody: an Allow
// to every principal that no condition pins down.
func (s *Statement) Public() bool {
	return s.Allows() && s.AppliesToEveryone() && !s.Restricted()
}

// anyWorld reports whether aws:SourceIp values leave the statement open to
// the internet at large: a value that is not a CIDR (erring toward public),
// a range broader than S3's own bound — /8 for IPv4, /32 for IPv6: "The
// meaning of public" in the S3 User Guide calls a policy conditioned on
// such a range public, and Block Public Access treats it so — or ranges
// that together cover every IPv4 or every IPv6 address (package ipspace:
// 0.0.0.0/1 + 128.0.0.0/1 are caught by the bound already, 256 /8s by the
// coverage).
func anyWorld(vals trigger.List[trigger.String]) bool {
	var ps []netip.Prefix
	for _, v := range vals {
		p, err := ipspace.Parse(string(v))
		if err != nil {
			return true
		}
		if p.Addr().Is4() && p.Bits() < 8 || !p.Addr().Is4() && p.Bits() < 32 {
			return true
		}
		ps = append(ps, p)
	}
	return ipspace.Covers(ps).Any()
}

func anyWildcard(vals trigger.List[trigger.String]) bool {
	for _, v := range vals {
		if strings.ContainsAny(string(v), "*?") {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, value string) bool {
	for _, p := range patterns {
		if Match(p, value) {
			return true
		}
	}
	return false
}

// Match reports whether value matches an IAM pattern, where * matches any run
// of characters and ? any one character. Action names compare
// case-insensitively (IAM treats them so); so, here, do ARNs, which errs
// toward a match.
func Match(pattern, value string) bool {
	return match(strings.ToLower(pattern), strings.ToLower(value))
}

func match(p, v string) bool {
	// Iterative glob with backtracking to the last star.
	pi, vi, star, mark := 0, 0, -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
