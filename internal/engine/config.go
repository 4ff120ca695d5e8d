package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/rampart-aws/rampart/internal/exemption"
	"github.com/rampart-aws/rampart/internal/rule"
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
	default: // Plan is the CLI's, never configured
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
	// OwnRoles are the full IAM role ARNs Rampart's functions run as, in the
	// deployment's account: calls made by sessions of exactly these roles
	// never trigger Rampart (see identity.go).
	OwnRoles   []string
	TopicARN   string
	ExemptTag  string
	Exemptions []Exemption

	// Scope: where this deployment acts (see scope.go).
	// HomeRegion is where global rules run; Regions the regions the
	// deployment covers (empty: the function's own region only).
	HomeRegion string
	Regions    []string
	// OrgID set means organization mode: the engine acts in the active
	// member accounts through MemberRole (name with path, no ARN), and
	// scheduled sweeps fan out through SweepQueueURL.
	OrgID         string
	MemberRole    string
	SweepQueueURL string
	// ExemptMaxDays bounds how far ahead a tag exemption's expiry may lie
	// (0 means exemption.DefaultMaxDays). The checked-in list is not bound
	// by it: see exempt.go.
	ExemptMaxDays int
	Notify        NotifyConfig
	// SecurityHub publishes every finding to AWS Security Hub and accepts
	// the deployment's custom action (securityhub.go).
	SecurityHub bool
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

	EnvHomeRegion    = "RAMPART_HOME_REGION"
	EnvRegions       = "RAMPART_REGIONS"
	EnvOrgID         = "RAMPART_ORG_ID"
	EnvMemberRole    = "RAMPART_MEMBER_ROLE"
	EnvSweepQueueURL = "RAMPART_SWEEP_QUEUE_URL"
	// EnvExemptMaxDays bounds a tag exemption's expiry, in days from now.
	EnvExemptMaxDays = "RAMPART_EXEMPT_MAX_DAYS"
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
	if err := c.readScope(getenv); err != nil {
		return c, err
	}
	if err := readNotifyEnv(getenv, &c); err != nil {
		return c, err
	}
	if err := readSecurityHubEnv(getenv, &c); err != nil {
		return c, err
	}
	if v := strings.TrimSpace(getenv(EnvExemptTag)); v != "" {
		c.ExemptTag = v
	}
	days, err := parseMaxDays(getenv(EnvExemptMaxDays))
	if err != nil {
		return c, err
	}
	c.ExemptMaxDays = days
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
	if _, err := exemption.ParseExpiry(e.Expires); err != nil {
		return fmt.Errorf("exemption of %q: %w", e.Resource, err)
	}
	return nil
}
