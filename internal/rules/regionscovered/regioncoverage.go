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
)

// ResourceType is the account.
const ResourceType = "AWS::::Account"

// TargetID names the account's region set in decisions and exemptions.
const TargetID = "regions"

// EnvRegions is the deployment's covered regions, comma-separated (the CDK
// app sets it on every function).
const EnvRegions = "RAMPART_REGIONS"

// Rule is regions-covered.
var Rule = rule.Define(rule.Spec[regions, params]{
	Meta:    &meta,
	Parse:   parse,
	Observe: observe,
	Plan:    plan,
	Judge:   judgeFinding,
	Sweep:   sweep,
})

// params are the deployment's covered regions: not a rule parameter (they
// are the deployment's, not the rule's) but configuration the CDK app sets
// in RAMPART_REGIONS, read once when the rule is bound (at cold start), so
// the judgement gets them as a value.
type params struct {
	// Covered are the regions Rampart is deployed to; empty when
	// RAMPART_REGIONS is unset, which the sweep and a live read refuse.
	Covered []string
}

func parse(rule.Params) (params, error) {
	return params{Covered: splitRegions(os.Getenv(EnvRegions))}, nil
}

// regions is what the rule judges of the account: its enabled regions.
type regions struct{ Enabled []string }

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

// The rule has no Targets: no API call triggers it (enabling a region is an
// account-management call recorded nowhere EventBridge delivers reliably);
// the daily sweep does.

// sweep: one call, one target, with its state (the engine never sweeps
// offline).
func sweep(ctx context.Context, env rule.Env, p params) ([]rule.Target, error) {
	if err := p.known(); err != nil {
		return nil, err
	}
	enabled, err := enabledRegions(ctx, awsclient.Client(env.Session, ec2.NewFromConfig))
	if err != nil {
		return nil, err
	}
	return []rule.Target{{Type: ResourceType, ID: TargetID, Region: env.Session.Region, State: regions{enabled}}}, nil
}

// observe reads the enabled regions of a target that came without them.
func observe(ctx context.Context, env rule.Env, _ rule.Target, p params) (regions, error) {
	if err := p.known(); err != nil {
		return regions{}, err
	}
	enabled, err := enabledRegions(ctx, awsclient.Client(env.Session, ec2.NewFromConfig))
	return regions{enabled}, err
}

// plan: offline, the enabled regions are unknown.
func plan(_ rule.Target, p params) (regions, error) {
	if err := p.known(); err != nil {
		return regions{}, err
	}
	return regions{}, rule.Undecided("the enabled regions cannot be listed without AWS")
}

// regionsAPI is what the rule reads of EC2.
type regionsAPI interface {
	DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// enabledRegions lists the regions enabled in the account.
func enabledRegions(ctx context.Context, api regionsAPI) ([]string, error) {
	out, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{
		Filters: []ec2types.Filter{{Name: aws.String("opt-in-status"), Values: []string{"opt-in-not-required", "opted-in"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("describe regions: %w", err)
	}
	var names []string
	for _, r := range out.Regions {
		names = append(names, aws.ToString(r.RegionName))
	}
	return names, nil
}

// splitRegions reads RAMPART_REGIONS's comma-separated list.
func splitRegions(v string) []string {
	var out []string
	for _, r := range strings.Split(v, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// known: without the covered regions the rule cannot tell what is
// covered, and must not say "all is well".
func (p params) known() error {
	if len(p.Covered) == 0 {
		return fmt.Errorf("regions-covered: %s is empty: the deployment's covered regions are unknown", EnvRegions)
	}
	return nil
}

// judgeFinding is the rule's judgement.
func judgeFinding(r regions, _ rule.Target, p params, _ rule.Facts) rule.Finding {
	return judge(r.Enabled, p.Covered)
}

// judge is the rule: every enabled region must be covered (with none
// known to be covered, every enabled region is named: never a pass).
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
