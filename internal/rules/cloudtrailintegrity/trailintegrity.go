// Package cloudtrailintegrity holds cloudtrail-integrity: CloudTrail keeps
// recording the way the deployment's baseline says. Any call that can blind
// an account — StopLogging, UpdateTrail, PutEventSelectors, DeleteTrail — is
// only the cue to look: the trail's current state is judged against the
// whole baseline (logging; every management event, reads and writes, no
// source excluded; multi-region with global service events; log-file
// validation; and, when the deployment names them, the S3 bucket and
// prefix, the KMS key, the CloudWatch Logs group and role), whatever field
// the call touched, and everything that differs is put back. An hourly
// sweep does the same for every trail whose home is the region, so a lost
// event is reconciled.
//
// Organization trails owned by another account and shadow copies of trails
// whose home is another region are never modified here: the owner (or the
// Rampart deployment in the home region) is the one to act.
package cloudtrailintegrity

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trailsel"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the trail's CloudFormation type.
const ResourceType = "AWS::CloudTrail::Trail"

// IAM actions, as plans name them.
const (
	apiStart     = "cloudtrail:StartLogging"
	apiStop      = "cloudtrail:StopLogging"
	apiUpdate    = "cloudtrail:UpdateTrail"
	apiSelectors = "cloudtrail:PutEventSelectors"
	apiCreate    = "cloudtrail:CreateTrail"
	apiDelete    = "cloudtrail:DeleteTrail"
)

// Parameter names: the deployment's baseline trail.
const (
	ParamMultiRegion = "requireMultiRegion"
	ParamValidation  = "requireLogFileValidation"
	ParamKMS         = "kmsKeyId"
	ParamLogGroup    = "cloudWatchLogsLogGroupArn"
	ParamLogRole     = "cloudWatchLogsRoleArn"
	ParamTrailName   = "trailName"
	ParamTrailRegion = "trailRegion"
	ParamBucket      = "s3BucketName"
	ParamPrefix      = "s3KeyPrefix"
)

// Rule is cloudtrail-integrity.
var Rule = &trailRule{}

type trailRule struct{}

var meta = rule.Meta{
	ID:           "cloudtrail-integrity",
	Title:        "CloudTrail trails keep logging as the baseline says",
	Severity:     rule.Critical,
	Rationale:    "Stopping, redirecting or narrowing CloudTrail is how an intruder goes dark: every later action escapes the audit log. All management events, multi-region coverage with global service events, log-file validation, and the deployment's bucket, KMS key and CloudWatch Logs group are the baseline.",
	Remediation:  "Restarts logging and puts back every setting and event selector that differs from the baseline, in one call each; recreates the baseline trail if it was deleted; alerts where it cannot act.",
	ResourceType: ResourceType,
	Function:     "cloudtrail",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "cloudtrail.amazonaws.com",
		Events: []string{"StopLogging", "UpdateTrail", "PutEventSelectors", "DeleteTrail"}}},
	Schedule: "rate(1 hour)",
	Params: []rule.Param{
		{Name: ParamMultiRegion, Default: "true", Description: "trails must record every region, with global service events", Check: checkBool},
		{Name: ParamValidation, Default: "true", Description: "trails must keep log-file integrity validation on", Check: checkBool},
		{Name: ParamKMS, Default: "", Description: "KMS key ARN or key ID trails must encrypt with (no alias); unset: not judged", Check: checkKMS},
		{Name: ParamLogGroup, Default: "", Description: "CloudWatch Logs log group ARN trails deliver to (with the role); unset: not judged", Check: checkLogGroup},
		{Name: ParamLogRole, Default: "", Description: "role ARN CloudTrail assumes to deliver to the log group (with the log group)", Check: checkRole},
		{Name: ParamTrailName, Default: "", Description: "the baseline trail: only it is judged, and it is recreated if deleted; unset: every trail of the region is judged", Check: optionalMatch(trailNamePattern, "a trail name")},
		{Name: ParamTrailRegion, Default: "", Description: "home region of the baseline trail, where a sweep that finds it missing recreates it; unset: the sweep only alerts", Check: optionalMatch(regionPattern, "a region")},
		{Name: ParamBucket, Default: "", Description: "S3 bucket trails deliver to (required to recreate the baseline trail); unset: not judged", Check: optionalMatch(bucketPattern, "an S3 bucket name")},
		{Name: ParamPrefix, Default: "", Description: "S3 key prefix under the bucket, judged with the bucket (empty: no prefix)", Check: checkPrefix},
	},
	ReadActions:  []string{"cloudtrail:DescribeTrails", "cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "cloudtrail:ListTags"},
	WriteActions: []string{apiStart, apiUpdate, apiSelectors, apiCreate},
	// UpdateTrail and CreateTrail hand CloudTrail the CloudWatch Logs
	// delivery role when the baseline names one.
	PassRoles: []string{ParamLogRole},
	// Only the named baseline trail, with its bucket, is ever recreated.
	ParamWrites: []rule.ParamWrite{{Actions: []string{apiCreate}, When: []string{ParamTrailName, ParamBucket}}},

	ListExemptionsOnly: true, // guards the audit trail: only the checked-in list exempts
}

// Meta implements rule.Rule.
func (*trailRule) Meta() *rule.Meta { return &meta }

// evidence is what a call says: the trail it named and what it set.
type evidence struct {
	Event string
	Name  string // as the call gave it: a name or an ARN
	// Update is what an UpdateTrail set; Selectors what PutEventSelectors set.
	Update    updateRequest
	Selectors trailsel.Selectors
}

// swept is a trail listed by the sweep (DescribeTrails), read once for all.
type swept struct{ Trail cttypes.Trail }

// missing is the baseline trail the sweep did not find.
type missing struct{ Name string }

// arnRegion is the region of a trail ARN, or "" for a bare name.
func arnRegion(nameOrARN string) string {
	if a, err := arn.Parse(nameOrARN); err == nil {
		return a.Region
	}
	return ""
}

// trailName is the bare name of a trail given by name or ARN.
func trailName(nameOrARN string) string {
	if a, err := arn.Parse(nameOrARN); err == nil {
		return strings.TrimPrefix(a.Resource, "trail/")
	}
	return nameOrARN
}

type updateRequest struct {
	Name                       string        `json:"name"`
	S3BucketName               *string       `json:"s3BucketName"`
	S3KeyPrefix                *string       `json:"s3KeyPrefix"`
	EnableLogFileValidation    *trigger.Bool `json:"enableLogFileValidation"`
	IsMultiRegionTrail         *trigger.Bool `json:"isMultiRegionTrail"`
	IncludeGlobalServiceEvents *trigger.Bool `json:"includeGlobalServiceEvents"`
	KMSKeyID                   *string       `json:"kmsKeyId"`
	CloudWatchLogsLogGroupArn  *string       `json:"cloudWatchLogsLogGroupArn"`
	CloudWatchLogsRoleArn      *string       `json:"cloudWatchLogsRoleArn"`
}

type selectorsRequest struct {
	TrailName         string                          `json:"trailName"`
	EventSelectors    []cttypes.EventSelector         `json:"eventSelectors"`
	AdvancedSelectors []cttypes.AdvancedEventSelector `json:"advancedEventSelectors"`
}

// Targets implements rule.Rule: the trail the call named. Which fields the
// call touched does not matter: Evaluate judges the whole trail.
func (*trailRule) Targets(call *trigger.APICall, _ rule.Params) ([]rule.Target, error) {
	ev := evidence{Event: call.EventName}
	bad := func(err error) error {
		return fmt.Errorf("%w: %s requestParameters: %v", trigger.ErrInput, call.EventName, err)
	}
	switch call.EventName {
	case "StopLogging", "DeleteTrail":
		var req struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, bad(err)
		}
		ev.Name = req.Name
	case "UpdateTrail":
		if err := json.Unmarshal(call.Request, &ev.Update); err != nil {
			return nil, bad(err)
		}
		ev.Name = ev.Update.Name
	case "PutEventSelectors":
		var req selectorsRequest
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, bad(err)
		}
		ev.Name, ev.Selectors = req.TrailName, trailsel.Selectors{Basic: req.EventSelectors, Advanced: req.AdvancedSelectors}
	default:
		return nil, nil
	}
	if ev.Name == "" {
		return nil, fmt.Errorf("%w: %s names no trail", trigger.ErrInput, call.EventName)
	}
	return []rule.Target{{Type: ResourceType, ID: ev.Name, Region: call.Region, Evidence: ev}}, nil
}

// Evaluate implements rule.Rule. Live: GetTrail (skipped for a swept trail),
// GetTrailStatus, GetEventSelectors, and ListTags only on a violation.
func (r *trailRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	b, err := baselineOf(p)
	if err != nil {
		return rule.Finding{}, err
	}
	var name string
	var known *cttypes.Trail
	ev, fromEvent := t.Evidence.(evidence)
	switch e := t.Evidence.(type) {
	case evidence:
		name = e.Name
	case swept:
		known, name = &e.Trail, aws.ToString(e.Trail.TrailARN)
	case missing:
		name = e.Name
	default:
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "cloudtrail-integrity judges trails named by CloudTrail calls or its sweep"}, nil
	}
	if b.TrailName != "" && trailName(name) != b.TrailName {
		return rule.Finding{Verdict: rule.NotApplicable, Resource: name,
			Reason: "not the baseline trail " + b.TrailName + ": other trails are their owners' business"}, nil
	}
	if s.Offline {
		if !fromEvent {
			return rule.Finding{Verdict: rule.NotApplicable, Reason: "offline: nothing to judge without an event"}, nil
		}
		return r.planFromEvent(ev, b), nil
	}
	// A trail named by an ARN of another region lives there: the Rampart
	// deployment of that region acts on it (no call needed to know).
	if home := arnRegion(name); home != "" && home != s.Region {
		return rule.Finding{Verdict: rule.NotApplicable, Resource: name,
			Reason: "a trail whose home region is " + home + "; the Rampart deployment there acts on it"}, nil
	}
	client := awsclient.Client(s, cloudtrail.NewFromConfig)
	if known == nil {
		got, err := client.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(name)})
		if awsclient.HasCode(err, "TrailNotFoundException") {
			return gone(name, ev.Event, b, s.Region), nil
		}
		if err != nil {
			return rule.Finding{}, fmt.Errorf("get trail %s: %w", name, err)
		}
		known = got.Trail
	}
	trail := *known
	// Actions name the trail by its name, valid in its home region (moto
	// 5.2.1 answers 500 to StartLogging by ARN); the decision reports the ARN.
	tarn, tname := aws.ToString(trail.TrailARN), aws.ToString(trail.Name)
	f := rule.Finding{Resource: tarn}
	// A trail named by name may still be the shadow of another region's
	// multi-region trail. (moto 5.2.1 does not model shadow trails: GetTrail
	// in another region does not find them, so only the ARN path above is
	// tested against it.)
	if home := aws.ToString(trail.HomeRegion); home != "" && home != s.Region {
		f.Verdict, f.Reason = rule.NotApplicable, "a shadow of a trail whose home region is "+home+"; the Rampart deployment there acts on it"
		return f, nil
	}
	st := state{Name: tname, Trail: trail}
	status, err := client.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(tarn)})
	if err != nil {
		return rule.Finding{}, fmt.Errorf("get trail status %s: %w", tarn, err)
	}
	st.Logging = aws.ToBool(status.IsLogging)
	sel, err := client.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(tarn)})
	if err != nil {
		return rule.Finding{}, fmt.Errorf("get event selectors %s: %w", tarn, err)
	}
	st.Selectors = trailsel.Selectors{Basic: sel.EventSelectors, Advanced: sel.AdvancedEventSelectors}
	problems, acts := judge(st, b)
	if len(problems) == 0 {
		f.Verdict, f.Reason = rule.Compliant, "the trail meets the whole baseline"
		return f, nil
	}
	if f.Tags, err = listTags(ctx, client, tarn); err != nil {
		return rule.Finding{}, err
	}
	f.Verdict, f.Reason = rule.Violation, describe(problems)
	if aws.ToBool(trail.IsOrganizationTrail) && !ownedBy(tarn, t.Call) {
		f.Reason += " — an organization trail owned by the management account; alerting only"
		f.Actions = []rule.Action{rule.Alert(tarn, f.Reason)}
		return f, nil
	}
	f.Actions = acts
	return f, nil
}

// ownedBy reports whether the trail ARN belongs to the account the call was
// recorded in (organization trails appear in member accounts too).
func ownedBy(trailARN string, call *trigger.APICall) bool {
	if call == nil || call.Account == "" {
		return true
	}
	a, err := arn.Parse(trailARN)
	return err != nil || a.AccountID == call.Account
}

func listTags(ctx context.Context, client *cloudtrail.Client, trailARN string) (map[string]string, error) {
	out, err := client.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{trailARN}})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", trailARN, err)
	}
	tags := map[string]string{}
	for _, rt := range out.ResourceTagList {
		for _, tg := range rt.TagsList {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
	}
	return tags, nil
}

// gone decides a trail that does not exist. The baseline trail is recreated
// when the baseline says enough to (trailName and s3BucketName) and this is
// its home region; otherwise a deletion is alerted on.
func gone(nameOrARN, event string, b baseline, region string) rule.Finding {
	name := trailName(nameOrARN)
	isBaseline := b.TrailName != "" && name == b.TrailName
	if !isBaseline && event != "DeleteTrail" {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "the trail no longer exists"}
	}
	reason := "trail " + name + " was deleted"
	if event != "DeleteTrail" {
		reason = "the baseline trail " + name + " does not exist"
	}
	switch {
	case !isBaseline:
		reason += "; the deployment names no baseline trail (" + ParamTrailName + ", " + ParamBucket + "), so Rampart cannot recreate it"
	case b.Bucket == "":
		reason += "; the baseline names no " + ParamBucket + ", so Rampart cannot recreate it"
	case b.Region != "" && b.Region != region:
		reason += "; its home region is " + b.Region + ", where Rampart recreates it"
	case b.Region == "" && event != "DeleteTrail":
		reason += " in any region; without " + ParamTrailRegion + " Rampart recreates it only on its DeleteTrail event"
	default:
		return rule.Finding{Verdict: rule.Violation, Resource: name, Reason: reason + "; recreating it from the baseline", Actions: recreate(name, b)}
	}
	return rule.Finding{Verdict: rule.Violation, Resource: name, Reason: reason, Actions: []rule.Action{rule.Alert(name, reason)}}
}

// planFromEvent is the offline plan: the trail as the baseline describes
// it, with what the call set; the undo of each fix is the call's own value.
func (r *trailRule) planFromEvent(ev evidence, b baseline) rule.Finding {
	name := trailName(ev.Name)
	if ev.Event == "DeleteTrail" {
		return gone(ev.Name, ev.Event, b, b.Region)
	}
	st := state{Name: name, Trail: ideal(name, b), Logging: ev.Event != "StopLogging",
		Selectors: trailsel.Selectors{Basic: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}}
	if ev.Event == "PutEventSelectors" {
		st.Selectors = ev.Selectors
	}
	u := ev.Update
	set := func(dst **string, v *string) {
		if v != nil {
			*dst = aws.String(*v)
		}
	}
	setBool := func(dst **bool, v *trigger.Bool) {
		if v != nil {
			*dst = aws.Bool(bool(*v))
		}
	}
	set(&st.Trail.S3BucketName, u.S3BucketName)
	set(&st.Trail.S3KeyPrefix, u.S3KeyPrefix)
	set(&st.Trail.KmsKeyId, u.KMSKeyID)
	set(&st.Trail.CloudWatchLogsLogGroupArn, u.CloudWatchLogsLogGroupArn)
	set(&st.Trail.CloudWatchLogsRoleArn, u.CloudWatchLogsRoleArn)
	setBool(&st.Trail.IsMultiRegionTrail, u.IsMultiRegionTrail)
	setBool(&st.Trail.IncludeGlobalServiceEvents, u.IncludeGlobalServiceEvents)
	setBool(&st.Trail.LogFileValidationEnabled, u.EnableLogFileValidation)
	problems, acts := judge(st, b)
	if len(problems) == 0 {
		return rule.Finding{Verdict: rule.Compliant, Reason: "the call left the trail as the baseline wants"}
	}
	return rule.Finding{Verdict: rule.Violation, Reason: "the call left the trail so: " + describe(problems), Actions: acts}
}

// Sweep implements rule.Sweeper: one DescribeTrails (shadow trails
// excluded) lists the trails whose home is this region; each is judged
// from the listing, so only GetTrailStatus and GetEventSelectors follow.
// A baseline trail that is missing is a target too.
func (*trailRule) Sweep(ctx context.Context, s *awsclient.Session, p rule.Params) ([]rule.Target, error) {
	b, err := baselineOf(p)
	if err != nil {
		return nil, err
	}
	out, err := awsclient.Client(s, cloudtrail.NewFromConfig).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil {
		return nil, fmt.Errorf("describe trails: %w", err)
	}
	var targets []rule.Target
	found := false
	for _, tr := range out.TrailList {
		if home := aws.ToString(tr.HomeRegion); home != "" && home != s.Region {
			continue
		}
		if b.TrailName != "" && aws.ToString(tr.Name) != b.TrailName {
			continue
		}
		found = true
		targets = append(targets, rule.Target{Type: ResourceType, ID: aws.ToString(tr.TrailARN), Region: s.Region, Evidence: swept{tr}})
	}
	// A missing baseline trail is judged where it would be recreated: its
	// home region, or every region when the deployment does not say which.
	if b.TrailName != "" && !found && (b.Region == "" || b.Region == s.Region) {
		targets = append(targets, rule.Target{Type: ResourceType, ID: b.TrailName, Region: s.Region, Evidence: missing{b.TrailName}})
	}
	return targets, nil
}

// Bind implements rule.Rule through the legacy adapter (until the rule moves to rule.Define).
func (r *trailRule) Bind(p rule.Params) (*rule.Bound, error) { return rule.Adapt(r).Bind(p) }
