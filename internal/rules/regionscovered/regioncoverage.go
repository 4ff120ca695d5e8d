// Package regionscovered holds regions-covered: every region enabled in the
// account is covered by Rampart. An intruder works in whatever region is
// enabled; a region enabled after the deploy (an opt-in region, say) has no
// Rampart stack until the next deploy, so nothing there is watched. The
// deploy names uncovered regions (infra/scripts/deploy.sh) and `rampart
// doctor` does on demand; this rule checks daily and alerts, naming them.
//
// The covered regions are the deployment's, in RAMPART_REGIONS (set by the
// CDK app on every function); the enabled ones come from ec2:DescribeRegions.
// The package reads; it changes nothing.
package regionscovered

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the account.
const ResourceType = "AWS::::Account"

// TargetID names the account's region set in decisions and exemptions.
const TargetID = "regions"

// EnvRegions is the deployment's covered regions, comma-separated (the CDK
// app sets it on every function).
const EnvRegions = "RAMPART_REGIONS"

// Rule is regions-covered.
var Rule = &coverage{getenv: os.Getenv}

type coverage struct{ getenv func(string) string }

var meta = rule.Meta{
	ID:           "regions-covered",
	Title:        "Every enabled region is covered by Rampart",
	Severity:     rule.High,
	Rationale:    "An intruder uses whatever region the account has enabled; a region enabled after Rampart's deploy has no Rampart stack, so nothing there is watched or remediated.",
	Remediation:  "Alerts daily, naming the enabled regions Rampart does not cover; redeploy (infra/scripts/deploy.sh) to cover them.",
	ResourceType: ResourceType,
	Function:     "iam",
	Schedule:     "rate(1 day)",
	Global:       true,
	ReadActions:  []string{"ec2:DescribeRegions"},
	WriteActions: []string{rule.AlertAPI},
}

// Meta implements rule.Rule.
func (*coverage) Meta() *rule.Meta { return &meta }

// Targets implements rule.Rule: no API call triggers the rule (enabling a
// region is an account-management call recorded nowhere EventBridge
// delivers reliably); the daily sweep does.
func (*coverage) Targets(*trigger.APICall, rule.Params) ([]rule.Target, error) { return nil, nil }

// swept is what the sweep read.
type swept struct{ enabled []string }

// Sweep implements rule.Sweeper: one call, one target.
func (c *coverage) Sweep(ctx context.Context, s *awsclient.Session, _ rule.Params) ([]rule.Target, error) {
	if s.Offline {
		return nil, fmt.Errorf("regions-covered: the sweep lists the enabled regions and cannot run offline")
	}
	enabled, err := enabledRegions(ctx, s)
	if err != nil {
		return nil, err
	}
	return []rule.Target{{Type: ResourceType, ID: TargetID, Region: s.Region, Evidence: swept{enabled}}}, nil
}

// enabledRegions lists the regions enabled in the account.
func enabledRegions(ctx context.Context, s *awsclient.Session) ([]string, error) {
	out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeRegions(ctx, &ec2.DescribeRegionsInput{
		Filters: []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"opt-in-not-required", "opted-in"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("describe regions: %w", err)
	}
	var regions []string
	for _, r := range out.Regions {
		regions = append(regions, aws.ToString(r.RegionName))
	}
	return regions, nil
}

// Evaluate implements rule.Rule.
func (c *coverage) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, _ rule.Params) (rule.Finding, error) {
	covered, err := parseRegions(c.getenv(EnvRegions))
	if err != nil {
		return rule.Finding{}, err
	}
	if s.Offline {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: the enabled regions cannot be listed without AWS"}, nil
	}
	sw, ok := t.Evidence.(swept)
	if !ok {
		if sw.enabled, err = enabledRegions(ctx, s); err != nil {
			return rule.Finding{}, err
		}
	}
	return judge(sw.enabled, covered), nil
}

// parseRegions reads RAMPART_REGIONS; empty is an error: without it the
// rule cannot tell what is covered, and must not say "all is well".
func parseRegions(v string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(v, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("regions-covered: %s is empty: the deployment's covered regions are unknown", EnvRegions)
	}
	return out, nil
}

// judge is the rule: every enabled region must be covered.
func judge(enabled, covered []string) rule.Finding {
	var missing []string
	for _, r := range enabled {
		if !slices.Contains(covered, r) {
			missing = append(missing, r)
		}
	}
	slices.Sort(missing)
	if len(missing) == 0 {
		return rule.Finding{Verdict: rule.Compliant, Reason: fmt.Sprintf("all %d enabled regions are covered", len(enabled)), Resource: TargetID}
	}
	reason := fmt.Sprintf("enabled regions not covered by Rampart: %s — nothing there is watched; redeploy (\"rampart:regions\": \"all\") to cover them",
		strings.Join(missing, ", "))
	return rule.Finding{Verdict: rule.Violation, Reason: reason, Resource: TargetID, Actions: []rule.Action{rule.Alert(TargetID, reason)}}
}

// Apply implements rule.Rule: the rule only alerts.
func (*coverage) Apply(_ context.Context, _ *awsclient.Session, a rule.Action) error {
	return fmt.Errorf("regions-covered changes nothing and cannot apply %s", a.API)
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *coverage) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
