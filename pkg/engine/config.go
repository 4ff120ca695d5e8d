package engine

import (
	"encoding/json"
	"fmt"
	"github.com/rampart-aws/rampart/pkg/rule"
	"os"
	"strings"
	"time"
)

// Mode says whether a rule's plan is applied or only reported.
type Mode string

// Modes. Report is the default: Rampart acts only where it is told to.
const (
	Enforce Mode = "enforce"
	Report  Mode = "report"
	// Plan is the offline mode of `rampart plan`: no AWS call at all.
	Plan Mode = "plan"
)

// ParseMode reads "enforce" or "report".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case Enforce, Report:
		return m, nil
	}
	return "", fmt.Errorf("mode %q: want enforce or report", s)
}

// DefaultExemptTag is the resource tag that exempts a resource; its value is
// the reason, optionally followed by "; owner=…; expires=YYYY-MM-DD".
const DefaultExemptTag = rule.DefaultExemptTag

// Config is a deployment's settings. The Lambda reads it from the
// environment (see FromEnv and the README's configuration reference).
type Config struct {
	Mode      Mode
	RuleModes map[string]Mode
	// Params overrides rule parameters: rule ID → name → value.
	Params map[string]map[string]string
	// OwnRoles are the role ARNs or role names Rampart runs as: calls they
	// make never trigger Rampart.
	OwnRoles   []string
	TopicARN   string
	ExemptTag  string
	Exemptions []Exemption
	Notify     NotifyConfig
}

// Environment variables read by FromEnv.
const (
	EnvMode       = "RAMPART_MODE"
	EnvRuleModes  = "RAMPART_RULE_MODES"
	EnvParams     = "RAMPART_PARAMS"
	EnvOwnRoles   = "RAMPART_OWN_ROLES"
	EnvTopicARN   = "RAMPART_TOPIC_ARN"
	EnvExemptTag  = "RAMPART_EXEMPT_TAG"
	EnvExemptions = "RAMPART_EXEMPTIONS"
)

// FromEnv reads the configuration from environment variables. A malformed
// value is an error: a deployment with a typo must not silently enforce.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Config{Mode: Report, ExemptTag: DefaultExemptTag, TopicARN: strings.TrimSpace(getenv(EnvTopicARN))}
	if v := getenv(EnvMode); v != "" {
		m, err := ParseMode(v)
		if err != nil {
			return c, fmt.Errorf("%s: %w", EnvMode, err)
		}
		c.Mode = m
	}
	if v := strings.TrimSpace(getenv(EnvRuleModes)); v != "" {
		c.RuleModes = map[string]Mode{}
		for _, pair := range strings.Split(v, ",") {
			id, mode, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok {
				return c, fmt.Errorf("%s: %q is not rule=mode", EnvRuleModes, pair)
			}
			m, err := ParseMode(mode)
			if err != nil {
				return c, fmt.Errorf("%s: %s: %w", EnvRuleModes, id, err)
			}
			c.RuleModes[strings.TrimSpace(id)] = m
		}
	}
	if v := strings.TrimSpace(getenv(EnvParams)); v != "" {
		if err := json.Unmarshal([]byte(v), &c.Params); err != nil {
			return c, fmt.Errorf("%s: want a JSON object of rule ID to {parameter: value}: %w", EnvParams, err)
		}
	}
	for _, r := range strings.Split(getenv(EnvOwnRoles), ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.OwnRoles = append(c.OwnRoles, r)
		}
	}
	if err := readNotifyEnv(getenv, &c); err != nil {
		return c, err
	}
	if v := strings.TrimSpace(getenv(EnvExemptTag)); v != "" {
		c.ExemptTag = v
	}
	if v := strings.TrimSpace(getenv(EnvExemptions)); v != "" {
		if err := json.Unmarshal([]byte(v), &c.Exemptions); err != nil {
			return c, fmt.Errorf("%s: want a JSON array of exemptions: %w", EnvExemptions, err)
		}
		for i, e := range c.Exemptions {
			if err := e.Validate(); err != nil {
				return c, fmt.Errorf("%s[%d]: %w", EnvExemptions, i, err)
			}
		}
	}
	return c, nil
}

// ModeFor is the mode of one rule.
func (c *Config) ModeFor(ruleID string) Mode {
	if m, ok := c.RuleModes[ruleID]; ok {
		return m
	}
	if c.Mode == "" {
		return Report
	}
	return c.Mode
}

// Exemption is one checked-in exception: a rule (or "*") and a resource, with
// why, who owns the risk and until when.
type Exemption struct {
	Rule     string `json:"rule"`
	Resource string `json:"resource"`
	Reason   string `json:"reason"`
	Owner    string `json:"owner"`
	Expires  string `json:"expires"`
}

// Validate requires every field and a parseable expiry.
func (e Exemption) Validate() error {
	for name, v := range map[string]string{"rule": e.Rule, "resource": e.Resource, "reason": e.Reason, "owner": e.Owner, "expires": e.Expires} {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("exemption of %q lacks %s", e.Resource, name)
		}
	}
	if _, err := parseExpiry(e.Expires); err != nil {
		return fmt.Errorf("exemption of %q: %w", e.Resource, err)
	}
	return nil
}

func parseExpiry(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24*time.Hour - time.Nanosecond), nil // valid through that day (UTC)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("expires %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}

// exemptionFromTag reads the exemption tag's value:
// "reason; owner=team@example.com; expires=2027-01-31". Only the reason is required.
func exemptionFromTag(value string) Exemption {
	e := Exemption{Rule: "*"}
	var reason []string
	for _, part := range strings.Split(value, ";") {
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		switch {
		case ok && strings.EqualFold(strings.TrimSpace(k), "owner"):
			e.Owner = strings.TrimSpace(v)
		case ok && strings.EqualFold(strings.TrimSpace(k), "expires"):
			e.Expires = strings.TrimSpace(v)
		case part != "":
			reason = append(reason, part)
		}
	}
	e.Reason = strings.Join(reason, "; ")
	if e.Reason == "" {
		e.Reason = "no reason given"
	}
	return e
}

// describe is the exemption as a decision reason.
func (e Exemption) describe(source string) string {
	s := fmt.Sprintf("exempt by %s: %s", source, e.Reason)
	if e.Owner != "" {
		s += " (owner " + e.Owner
		if e.Expires != "" {
			s += ", until " + e.Expires
		}
		s += ")"
	} else if e.Expires != "" {
		s += " (until " + e.Expires + ")"
	}
	return s
}
