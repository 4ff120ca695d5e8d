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
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/tagmap"
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
var Rule = rule.Define(rule.Spec[observed, baseline]{
	Meta:    &meta,
	Parse:   baselineOf,
	Targets: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   judgeTrail,
	Apply:   apply,
	Sweep:   sweep,
})

var meta = rule.Meta{
	ID:                  "cloudtrail-integrity",
	Title:               "CloudTrail trails keep logging as the baseline says",
	Severity:            rule.Critical,
	Rationale:           "Stopping, redirecting or narrowing CloudTrail is how an intruder goes dark: every later action escapes the audit log. All management events, multi-region coverage with global service events, log-file validation, and the deployment's bucket, KMS key and CloudWatch Logs group are the baseline.",
	Remediation:         "Restarts logging and puts back every setting and event selector that differs from the baseline, in one call each; recreates the baseline trail if it was deleted; alerts where it cannot act.",
	ResourceType:        ResourceType,
	Function:            "cloudtrail",
	SecurityHubControls: []string{"CloudTrail.2", "CloudTrail.4", "CloudTrail.5"},
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

// evidence is what a call says: the trail it named and what it set.
type evidence struct {
	Event string
	Name  string // as the call gave it: a name or an ARN
	// Update is what an UpdateTrail set; Selectors what PutEventSelectors set.
	Update    updateRequest
	Selectors trailsel.Selectors
}

// listed is a trail as the sweep's DescribeTrails listed it: its settings,
// read once for all (its status and selectors are read per trail).
type listed struct{ Trail cttypes.Trail }

// missing is the baseline trail the sweep did not find.
type missing struct{ Name string }

// observed is what the rule judges of one trail: its settings, status and
// selectors (state), or why there is nothing of it to judge here.
type observed struct {
	state
	// Tags are read on a violation only (for the exemption check).
	Tags map[string]string
	// Missing: the trail does not exist.
	Missing bool
	// Elsewhere is the home region of a trail named by an ARN of another
	// region: the deployment there judges it, and nothing was read.
	Elsewhere string
	// Planned: offline, the state the event alone implies (the trail as
	// the baseline describes it, with what the call set).
	Planned bool
}

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

// targets is the trail the call named. Which fields the call touched does
// not matter: the whole trail is judged.
func targets(call *trigger.APICall, _ baseline) ([]rule.Target, error) {
	ev := evidence{Event: call.EventName}
	bad := func(err error) error {
		return fmt.Errorf("%w: %s requestParameters: %w", trigger.ErrInput, call.EventName, err)
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

// decided is the decision the target alone makes, with no state: a target
// neither a call nor the sweep named, or a trail other than the baseline
// trail. Observe and Plan read nothing for it.
func decided(t rule.Target, b baseline) (rule.Finding, bool) {
	switch t.Evidence.(type) {
	case evidence, listed, missing:
	default:
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "cloudtrail-integrity judges trails named by CloudTrail calls or its sweep"}, true
	}
	if b.TrailName != "" && trailName(t.ID) != b.TrailName {
		return rule.Finding{Verdict: rule.NotApplicable, Resource: t.ID,
			Reason: "not the baseline trail " + b.TrailName + ": other trails are their owners' business"}, true
	}
	return rule.Finding{}, false
}

// trailAPI is what the rule reads of CloudTrail to judge one trail.
type trailAPI interface {
	GetTrail(context.Context, *cloudtrail.GetTrailInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailOutput, error)
	GetTrailStatus(context.Context, *cloudtrail.GetTrailStatusInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(context.Context, *cloudtrail.GetEventSelectorsInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
	ListTags(context.Context, *cloudtrail.ListTagsInput, ...func(*cloudtrail.Options)) (*cloudtrail.ListTagsOutput, error)
}

func observe(ctx context.Context, env rule.Env, t rule.Target, b baseline) (observed, error) {
	if _, ok := decided(t, b); ok {
		return observed{}, nil
	}
	var known *cttypes.Trail
	if l, ok := t.Evidence.(listed); ok {
		known = &l.Trail
	}
	return read(ctx, awsclient.Client(env.Session, cloudtrail.NewFromConfig), env.Session.Region, t.ID, known, b)
}

// read reads one trail in region: GetTrail (skipped for a trail the sweep
// listed), GetTrailStatus, GetEventSelectors, and ListTags only when the
// trail misses the baseline (the tags serve the exemption check of a
// violation). A trail named by an ARN of another region, or the shadow of
// one, is left unread.
func read(ctx context.Context, api trailAPI, region, name string, known *cttypes.Trail, b baseline) (observed, error) {
	// A trail named by an ARN of another region lives there: the Rampart
	// deployment of that region acts on it (no call needed to know).
	if home := arnRegion(name); home != "" && home != region {
		return observed{Elsewhere: home}, nil
	}
	if known == nil {
		got, err := api.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(name)})
		if awsclient.HasCode(err, "TrailNotFoundException") {
			return observed{Missing: true}, nil
		}
		if err != nil {
			return observed{}, fmt.Errorf("get trail %s: %w", name, err)
		}
		known = got.Trail
	}
	// Actions name the trail by its name, valid in its home region (moto
	// 5.2.1 answers 500 to StartLogging by ARN); the decision reports the ARN.
	o := observed{state: state{Name: aws.ToString(known.Name), Trail: *known}}
	// A trail named by name may still be the shadow of another region's
	// multi-region trail. (moto 5.2.1 does not model shadow trails: GetTrail
	// in another region does not find them, so only the ARN path above is
	// tested against it.)
	if home := aws.ToString(known.HomeRegion); home != "" && home != region {
		return o, nil
	}
	tarn := aws.ToString(known.TrailARN)
	status, err := api.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(tarn)})
	if err != nil {
		return observed{}, fmt.Errorf("get trail status %s: %w", tarn, err)
	}
	o.Logging = aws.ToBool(status.IsLogging)
	sel, err := api.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(tarn)})
	if err != nil {
		return observed{}, fmt.Errorf("get event selectors %s: %w", tarn, err)
	}
	o.Selectors = trailsel.Selectors{Basic: sel.EventSelectors, Advanced: sel.AdvancedEventSelectors}
	if problems, _ := judge(o.state, b); len(problems) == 0 {
		return o, nil
	}
	out, err := api.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{tarn}})
	if err != nil {
		return observed{}, fmt.Errorf("list tags of %s: %w", tarn, err)
	}
	o.Tags = map[string]string{}
	for _, rt := range out.ResourceTagList {
		maps.Copy(o.Tags, tagmap.Of(rt.TagsList, func(t cttypes.Tag) (*string, *string) { return t.Key, t.Value }))
	}
	return o, nil
}

// plan is the offline planner: the trail as the baseline describes it,
// with what the call set (the undo of each fix is the call's own value);
// after DeleteTrail, no trail.
func plan(t rule.Target, b baseline) (observed, error) {
	if _, ok := decided(t, b); ok {
		return observed{}, nil
	}
	ev, ok := t.Evidence.(evidence)
	if !ok {
		return observed{}, rule.Undecided("nothing to judge without an event")
	}
	if ev.Event == "DeleteTrail" {
		return observed{Planned: true, Missing: true}, nil
	}
	name := trailName(ev.Name)
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
	return observed{state: st, Planned: true}, nil
}

// judgeTrail decides one trail against the whole baseline, whatever field
// the call touched.
func judgeTrail(o observed, t rule.Target, b baseline, f rule.Facts) rule.Finding {
	if d, ok := decided(t, b); ok {
		return d
	}
	ev, _ := t.Evidence.(evidence)
	if o.Missing {
		// Planned from the event alone, a deleted trail is judged as if in
		// its home region.
		region := f.Region
		if o.Planned {
			region = b.Region
		}
		return gone(t.ID, ev.Event, b, region)
	}
	if o.Planned {
		problems, acts := judge(o.state, b)
		if len(problems) == 0 {
			return rule.Finding{Verdict: rule.Compliant, Reason: "the call left the trail as the baseline wants"}
		}
		return rule.Finding{Verdict: rule.Violation, Reason: "the call left the trail so: " + describe(problems), Actions: acts}
	}
	if o.Elsewhere != "" {
		return rule.Finding{Verdict: rule.NotApplicable, Resource: t.ID,
			Reason: "a trail whose home region is " + o.Elsewhere + "; the Rampart deployment there acts on it"}
	}
	tarn := aws.ToString(o.Trail.TrailARN)
	out := rule.Finding{Resource: tarn}
	if home := aws.ToString(o.Trail.HomeRegion); home != "" && home != f.Region {
		out.Verdict, out.Reason = rule.NotApplicable, "a shadow of a trail whose home region is "+home+"; the Rampart deployment there acts on it"
		return out
	}
	problems, acts := judge(o.state, b)
	if len(problems) == 0 {
		out.Verdict, out.Reason = rule.Compliant, "the trail meets the whole baseline"
		return out
	}
	out.Verdict, out.Reason, out.Tags = rule.Violation, describe(problems), o.Tags
	if aws.ToBool(o.Trail.IsOrganizationTrail) && !ownedBy(tarn, t.Call) {
		out.Reason += " — an organization trail owned by the management account; alerting only"
		out.Actions = []rule.Action{rule.Alert(tarn, out.Reason)}
		return out
	}
	out.Actions = acts
	return out
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

// sweep lists, with one DescribeTrails (shadow trails excluded), the trails
// whose home is this region; each is judged from the listing, so only
// GetTrailStatus and GetEventSelectors follow, per trail. A baseline trail
// that is missing is a target too.
func sweep(ctx context.Context, env rule.Env, b baseline) ([]rule.Target, error) {
	out, err := awsclient.Client(env.Session, cloudtrail.NewFromConfig).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil {
		return nil, fmt.Errorf("describe trails: %w", err)
	}
	region := env.Session.Region
	var targets []rule.Target
	found := false
	for _, tr := range out.TrailList {
		if home := aws.ToString(tr.HomeRegion); home != "" && home != region {
			continue
		}
		if b.TrailName != "" && aws.ToString(tr.Name) != b.TrailName {
			continue
		}
		found = true
		targets = append(targets, rule.Target{Type: ResourceType, ID: aws.ToString(tr.TrailARN), Region: region, Evidence: listed{tr}})
	}
	// A missing baseline trail is judged where it would be recreated: its
	// home region, or every region when the deployment does not say which.
	if b.TrailName != "" && !found && (b.Region == "" || b.Region == region) {
		targets = append(targets, rule.Target{Type: ResourceType, ID: b.TrailName, Region: region, Evidence: missing{b.TrailName}})
	}
	return targets, nil
}
