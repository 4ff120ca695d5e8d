package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/rampart-aws/rampart/internal/awsclient"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// This file holds what the app knows about regions without asking AWS: the
// regions every account has enabled by default, the regions global services
// deliver their events in, and partitions.

// DefaultEnabledRegions are the commercial regions enabled in every account
// by default (opt-in-status "opt-in-not-required": every region launched
// before March 2019). "rampart:regions": "all" covers these when the deploy
// did not resolve the account's enabled regions (deploy.sh passes them as
// rampart:enabledRegions), that is for an offline synth; regions the account
// opted into are then missing, and the synth says so.
var DefaultEnabledRegions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"ca-central-1",
	"eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
	"sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// GlobalEventRegions are the regions CloudTrail records global-service
// events in: IAM, STS-global and root console sign-ins in us-east-1; IAM-user
// console sign-ins in us-east-2, eu-north-1 or ap-southeast-2 (or the region
// of the regional sign-in endpoint used, which is any region). A deployment
// that does not cover these loses those events.
var GlobalEventRegions = []string{"ap-southeast-2", "eu-north-1", "us-east-1", "us-east-2"}

// partitionOf is the AWS partition of a region.
var partitionOf = awsclient.PartitionOf

// uncoveredRegions are the enabled regions a deployment does not cover.
func uncoveredRegions(enabled, covered []string) []string {
	var out []string
	for _, r := range enabled {
		if !slices.Contains(covered, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)

// parseRegions reads rampart:regions ("all" or a list), rampart:enabledRegions
// and rampart:homeRegion; it returns the errors found.
func (s *Settings) parseRegions(get func(string) any, read func(string, any) bool) []string {
	var errs []string
	if read(ctxEnabledRegions, &s.EnabledRegions) {
		for _, r := range s.EnabledRegions {
			if !regionRE.MatchString(r) {
				errs = append(errs, fmt.Sprintf("%s: %q is not a region name", ctxEnabledRegions, r))
			}
		}
	}
	switch get(ctxRegions) {
	case nil, "all":
		s.RegionsAll = true
	default:
		if !read(ctxRegions, &s.Regions) {
			errs = append(errs, fmt.Sprintf(`%s: want "all" or a list of region names`, ctxRegions))
		} else if len(s.Regions) == 0 {
			errs = append(errs, fmt.Sprintf(`%s: empty (say "all" for every enabled region)`, ctxRegions))
		}
	}
	if s.RegionsAll {
		s.Regions = slices.Clone(s.EnabledRegions)
		if len(s.Regions) == 0 {
			s.Regions = slices.Clone(DefaultEnabledRegions)
		}
	}
	for i, r := range s.Regions {
		if !regionRE.MatchString(r) {
			errs = append(errs, fmt.Sprintf("%s: %q is not a region name", ctxRegions, r))
		}
		if slices.Contains(s.Regions[:i], r) {
			errs = append(errs, fmt.Sprintf("%s: %s listed twice", ctxRegions, r))
		}
		if len(s.Regions) > 0 && partitionOf(r) != partitionOf(s.Regions[0]) {
			errs = append(errs, fmt.Sprintf("%s: %s and %s are in different partitions (deploy each partition on its own)", ctxRegions, s.Regions[0], r))
		}
	}
	slices.Sort(s.Regions)

	if !read(ctxHomeRegion, &s.HomeRegion) || s.HomeRegion == "" {
		s.HomeRegion = defaultRegion
		if !slices.Contains(s.Regions, defaultRegion) && len(s.Regions) > 0 {
			errs = append(errs, fmt.Sprintf("%s: the default home region %s is not covered by %s: name the home region among %s",
				ctxHomeRegion, defaultRegion, ctxRegions, strings.Join(s.Regions, ", ")))
		}
	} else if !slices.Contains(s.Regions, s.HomeRegion) {
		errs = append(errs, fmt.Sprintf("%s: %s is not among the covered regions (%s)", ctxHomeRegion, s.HomeRegion, strings.Join(s.Regions, ", ")))
	}
	return errs
}

// checkRoleARN accepts a full IAM role ARN (the loop guard compares exact
// ARNs; a bare name would match nothing, silently).
func checkRoleARN(s string) error {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || a.Region != "" || !regexp.MustCompile(`^\d{12}$`).MatchString(a.AccountID) ||
		!strings.HasPrefix(a.Resource, "role/") || len(a.Resource) <= len("role/") || strings.ContainsAny(s, ",* ") {
		return fmt.Errorf("%q is not a full IAM role ARN (arn:aws:iam::123456789012:role/name)", s)
	}
	return nil
}

// regionsNote describes where the covered regions come from, for the plan.
func (s *Settings) regionsNote() string {
	switch {
	case !s.RegionsAll:
		if len(s.EnabledRegions) > 0 {
			if u := uncoveredRegions(s.EnabledRegions, s.Regions); len(u) > 0 {
				return fmt.Sprintf("the list in %s; enabled but NOT covered: %s", ctxRegions, strings.Join(u, ", "))
			}
		}
		return "the list in " + ctxRegions
	case len(s.EnabledRegions) > 0:
		return "all regions enabled in the account (resolved at deploy time)"
	default:
		return "all: the regions enabled by default in every account (offline synth: regions the account opted into are not known; deploy.sh resolves them)"
	}
}
