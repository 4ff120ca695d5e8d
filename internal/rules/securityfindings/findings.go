// Package securityfindings holds security-findings: the GuardDuty and Amazon
// Inspector findings at or above the deployment's severity reach a human
// with what Rampart knows of the resource — who owns it by its tags, and its
// current state (an instance's state, network and role; a user's or role's
// tags; a bucket's or function's tags) — rather than as one more console
// badge.
//
// The rule only reports: a finding is a signal to investigate, not a proof,
// and acting on it (stopping an instance, deactivating a key) could fight a
// legitimate owner or destroy evidence. It plans no action and has no Apply.
//
// A finding is keyed by its ARN: a new finding is notified once, its
// updates (GuardDuty re-publishes a recurring finding with a growing count)
// are not, and an archived (GuardDuty) or closed or suppressed (Inspector)
// finding resolves it. The exemption tag is ignored — a tag on a compromised
// resource may be the intruder's — so only the checked-in list exempts (by
// finding ARN or by resource ID).
//
// The package reads tags and instance state; it changes nothing.
package securityfindings

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// The events the rule takes.
const (
	SourceGuardDuty = "aws.guardduty"
	DetailGuardDuty = "GuardDuty Finding"
	SourceInspector = "aws.inspector2"
	DetailInspector = "Inspector2 Finding"
)

// Parameters.
const (
	ParamMinSeverity = "minSeverity"
	ParamOwnerTags   = "ownerTagKeys"
)

// Resource types the rule reads live; findings on any other resource are
// notified with what the finding itself records.
const (
	typeInstance = "AWS::EC2::Instance"
	typeUser     = "AWS::IAM::User"
	typeRole     = "AWS::IAM::Role"
	typeBucket   = "AWS::S3::Bucket"
	typeFunction = "AWS::Lambda::Function"
	typeECR      = "AWS::ECR::Repository"
)

const (
	apiDescribeInstances = "ec2:DescribeInstances"
	apiUserTags          = "iam:ListUserTags"
	apiRoleTags          = "iam:ListRoleTags"
	apiBucketTags        = "s3:GetBucketTagging"
	apiFunctionTags      = "lambda:ListTags"
)

// Rule is security-findings.
var Rule = rule.Define(rule.Spec[current, params]{
	Meta:    &meta,
	Parse:   parse,
	OnEvent: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   judgeTarget,
})

var meta = rule.Meta{
	ID:       "security-findings",
	Title:    "GuardDuty and Inspector findings reach their owners with Rampart's context",
	Severity: rule.High,
	Rationale: "Security teams live in GuardDuty and Inspector, but a finding that names only an instance ID or a CVE waits " +
		"in a console until someone asks whose it is. The finding, its owner (by the resource's tags) and the resource's " +
		"current state in one message shorten the time from detection to the person who can act.",
	Remediation: "Reports only: notifies each new GuardDuty or Inspector finding at or above minSeverity with the resource's " +
		"owner tags and current state, and again when it is archived or closed; takes no action on the resource.",
	ResourceType: strings.Join([]string{typeInstance, typeUser, typeBucket, typeFunction}, ","),
	Function:     "findings",
	Events: []rule.EventTrigger{
		{Source: SourceGuardDuty, DetailType: DetailGuardDuty},
		{Source: SourceInspector, DetailType: DetailInspector},
	},
	Params: []rule.Param{
		{Name: ParamMinSeverity, Default: "HIGH", Check: checkSeverity,
			Description: "the lowest severity notified: LOW, MEDIUM, HIGH or CRITICAL (GuardDuty's numeric severity maps to these: 1–3.9 LOW, 4–6.9 MEDIUM, 7–8.9 HIGH, 9–10 CRITICAL)"},
		{Name: ParamOwnerTags, Default: "owner,team", Check: checkTagKeys,
			Description: "comma-separated tag keys that say who owns a resource (matched ignoring case), reported in this order"},
	},
	ReadActions: []string{apiDescribeInstances, apiUserTags, apiRoleTags, apiBucketTags, apiFunctionTags},

	// A tag on a compromised resource may be the intruder's.
	ListExemptionsOnly: true,
}

// level is a severity, comparable: Informational < Low < … < Critical.
type level int

// Severity levels.
const (
	Informational level = iota
	Low
	Medium
	High
	Critical
)

var levelNames = []string{"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

func (l level) String() string {
	if int(l) < len(levelNames) && l >= 0 {
		return levelNames[l]
	}
	return "UNKNOWN"
}

// parseLevel reads a severity label, ignoring case.
func parseLevel(s string) (level, bool) {
	i := slices.Index(levelNames, strings.ToUpper(strings.TrimSpace(s)))
	return level(i), i >= 0
}

// guardDutyLevel maps GuardDuty's numeric severity to its documented level.
func guardDutyLevel(n float64) level {
	switch {
	case n >= 9:
		return Critical
	case n >= 7:
		return High
	case n >= 4:
		return Medium
	case n >= 1:
		return Low
	}
	return Informational
}

func checkSeverity(s string) error {
	if l, ok := parseLevel(s); !ok || l == Informational {
		return fmt.Errorf("want LOW, MEDIUM, HIGH or CRITICAL")
	}
	return nil
}

func checkTagKeys(s string) error {
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); len(k) > 128 {
			return fmt.Errorf("tag key %.20q… is longer than 128 characters", k)
		}
	}
	return nil
}

// params are the rule's typed parameters.
type params struct {
	Min       level
	OwnerTags []string
}

func parse(p rule.Params) (params, error) {
	if err := checkSeverity(p[ParamMinSeverity]); err != nil {
		return params{}, fmt.Errorf("parameter %s=%q: %w", ParamMinSeverity, p[ParamMinSeverity], err)
	}
	lowest, _ := parseLevel(p[ParamMinSeverity])
	out := params{Min: lowest}
	for _, k := range strings.Split(p[ParamOwnerTags], ",") {
		if k = strings.TrimSpace(k); k != "" {
			out.OwnerTags = append(out.OwnerTags, k)
		}
	}
	return out, nil
}

// finding is a GuardDuty or Inspector finding, as the rule reads it.
type finding struct {
	Service  string // "GuardDuty" or "Inspector"
	ARN      string
	Type     string
	Title    string
	Level    level
	Score    string // GuardDuty's number, or Inspector's score
	Closed   string // why the finding no longer needs a human ("archived", "CLOSED"…); empty while active
	Account  string // the account the finding is about
	Region   string
	Sample   bool   // a GuardDuty sample finding (CreateSampleFindings)
	Activity string // what happened: GuardDuty's action, Inspector's vulnerability
	Seen     string // when, and how often
	Resource resource
}

// resource is the resource a finding is about.
type resource struct {
	Type string // CloudFormation type; empty when Rampart does not know it
	ID   string // what the APIs take: i-…, a user or role name, a bucket name, a function ARN
	Kind string // how GuardDuty or Inspector calls it
	Desc string // a one-line description from the finding
	Tags map[string]string
}

// targets names the resource of a finding. Another source names none; a
// malformed finding is bad input.
func targets(ev *trigger.Event, _ params) ([]rule.Target, error) {
	var f finding
	var err error
	switch ev.Source {
	case SourceGuardDuty:
		f, err = fromGuardDuty(ev.Detail)
	case SourceInspector:
		f, err = fromInspector(ev.Detail)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", trigger.ErrInput, ev.DetailType, err)
	}
	if f.Region == "" {
		f.Region = ev.Region
	}
	if f.Account == "" {
		f.Account = ev.Account
	}
	id := f.Resource.ID
	if id == "" {
		id = f.ARN
	}
	return []rule.Target{{Type: f.Resource.Type, ID: id, Region: f.Region, Evidence: f}}, nil
}

// current is what Rampart knows of the finding's resource beyond the
// finding: its tags and state now, read live.
type current struct {
	Tags map[string]string // the resource's tags now; nil when not read
	// State is the resource's current state in one line ("running t3.large
	// in vpc-…, public IP …"); Gone says it no longer exists.
	State string
	Gone  bool
	// Note says where the context comes from when not read live.
	Note string
}

func (l level) atLeast(lowest level) bool { return l >= lowest }

// notable reports whether the finding is one a human is told about.
func (f finding) notable(p params) bool {
	return f.Closed == "" && f.Level.atLeast(p.Min)
}

// plan is the offline state: the finding's own record of the resource.
func plan(t rule.Target, _ params) (current, error) {
	if _, ok := t.Evidence.(finding); !ok {
		return current{}, rule.Undecided("only a GuardDuty or Inspector finding event can be judged without AWS")
	}
	return current{Note: "offline: owner from the tags the finding records"}, nil
}

func judgeTarget(c current, t rule.Target, p params, f rule.Facts) rule.Finding {
	fd, ok := t.Evidence.(finding)
	if !ok {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "security-findings judges GuardDuty and Inspector findings only"}
	}
	return judge(fd, c, p)
}

// judge is the rule.
func judge(f finding, c current, p params) rule.Finding {
	head := f.head()
	switch {
	case f.Closed != "":
		return rule.Finding{Verdict: rule.Compliant, Resource: f.ARN, Reason: head + " is " + f.Closed + ": nothing to do"}
	case !f.Level.atLeast(p.Min):
		return rule.Finding{Verdict: rule.Ignored, Resource: f.ARN,
			Reason: fmt.Sprintf("%s is below the deployment's %s %s: not notified", head, ParamMinSeverity, p.Min)}
	}
	var b strings.Builder
	b.WriteString(head)
	if f.Title != "" {
		b.WriteString(": " + strings.TrimSuffix(f.Title, "."))
	}
	if f.Activity != "" {
		b.WriteString("; " + f.Activity)
	}
	tags, from := c.Tags, "its tags"
	if tags == nil {
		tags, from = f.Resource.Tags, "the tags the finding records"
	}
	if o := owners(tags, p.OwnerTags); o != "" {
		b.WriteString("; owner: " + o + " (" + from + ")")
	} else {
		fmt.Fprintf(&b, "; owner unknown: no %s tag (%s)", strings.Join(p.OwnerTags, " or "), from)
	}
	switch {
	case c.Gone:
		b.WriteString("; the " + f.Resource.noun() + " no longer exists")
	case c.State != "":
		b.WriteString("; now: " + c.State)
	}
	if f.Seen != "" {
		b.WriteString("; " + f.Seen)
	}
	if c.Note != "" {
		b.WriteString(" (" + c.Note + ")")
	}
	if f.Sample {
		b.WriteString(" — a GuardDuty sample finding (CreateSampleFindings)")
	}
	b.WriteString(" — Rampart takes no action on findings: investigate in " + f.Service + " (" + f.ARN + ")")
	return rule.Finding{Verdict: rule.Violation, Resource: f.ARN, Reason: b.String()}
}

// head names the finding in one phrase: service, severity, type, resource.
func (f finding) head() string {
	sev := f.Level.String()
	if f.Score != "" {
		sev += " (" + f.Score + ")"
	}
	return fmt.Sprintf("%s %s finding %s on %s", f.Service, sev, f.Type, f.Resource.Desc)
}

// noun is what the resource is, in a sentence.
func (r resource) noun() string {
	switch r.Type {
	case typeInstance:
		return "instance"
	case typeUser:
		return "user"
	case typeRole:
		return "role"
	case typeBucket:
		return "bucket"
	case typeFunction:
		return "function"
	}
	return "resource"
}

// owners lists the owner tags present, in the configured order, matching
// keys ignoring case.
func owners(tags map[string]string, keys []string) string {
	names := make([]string, 0, len(tags))
	for k := range tags {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []string
	for _, want := range keys {
		for _, k := range names {
			if v := tags[k]; strings.EqualFold(k, want) && v != "" {
				out = append(out, k+"="+v)
				break
			}
		}
	}
	return strings.Join(out, ", ")
}

// formatScore renders a number without trailing zeros ("8", "7.5").
func formatScore(n float64) string { return strconv.FormatFloat(n, 'f', -1, 64) }
