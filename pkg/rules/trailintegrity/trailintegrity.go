// Package trailintegrity holds cloudtrail-integrity: CloudTrail keeps
// recording the way the deployment's baseline says. It reacts to the calls
// that blind an account — StopLogging, UpdateTrail that turns off log-file
// validation or multi-region or drops KMS encryption or CloudWatch Logs
// delivery, PutEventSelectors that drops management events, DeleteTrail — and
// puts back exactly what the call took away, judged against the trail's
// current state.
//
// Organization trails owned by another account and shadow copies of trails
// whose home is another region are never modified here: the owner (or the
// Rampart deployment in the home region) is the one to act.
package trailintegrity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/trigger"
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
	ParamBucket      = "s3BucketName"
)

// Rule is cloudtrail-integrity.
var Rule = &trailRule{}

type trailRule struct{}

var meta = rule.Meta{
	ID:           "cloudtrail-integrity",
	Title:        "CloudTrail trails keep logging as the baseline says",
	Severity:     rule.Critical,
	Rationale:    "Stopping or weakening CloudTrail is how an intruder goes dark: every later action escapes the audit log. Log-file validation, multi-region coverage, KMS encryption and CloudWatch Logs delivery are the best-practice baseline.",
	Remediation:  "Restarts logging, restores the weakened settings and management-event selectors, and recreates the baseline trail if it was deleted; alerts where it cannot act.",
	ResourceType: ResourceType,
	Function:     "cloudtrail",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "cloudtrail.amazonaws.com",
		Events: []string{"StopLogging", "UpdateTrail", "PutEventSelectors", "DeleteTrail"}}},
	Params: []rule.Param{
		{Name: ParamMultiRegion, Default: "true", Description: "trails must record every region", Check: checkBool},
		{Name: ParamValidation, Default: "true", Description: "trails must keep log-file integrity validation on", Check: checkBool},
		{Name: ParamKMS, Default: "", Description: "KMS key (ARN, ID or alias) trails must encrypt with; restored when removed"},
		{Name: ParamLogGroup, Default: "", Description: "CloudWatch Logs log group ARN trails deliver to; restored when removed"},
		{Name: ParamLogRole, Default: "", Description: "role CloudTrail assumes to deliver to the log group (required with the log group)"},
		{Name: ParamTrailName, Default: "", Description: "the baseline trail; recreated if deleted"},
		{Name: ParamBucket, Default: "", Description: "S3 bucket of the baseline trail (required to recreate it)"},
	},
	ReadActions:  []string{"cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "cloudtrail:ListTags"},
	WriteActions: []string{apiStart, apiUpdate, apiSelectors, apiCreate},
	// UpdateTrail and CreateTrail hand CloudTrail the CloudWatch Logs
	// delivery role when the baseline names one.
	PassRoles: []string{ParamLogRole},

	ListExemptionsOnly: true, // guards the audit trail: only the checked-in list exempts
}

func checkBool(s string) error {
	_, err := strconv.ParseBool(s)
	return err
}

func on(p rule.Params, name string) bool {
	v, _ := strconv.ParseBool(p[name])
	return v
}

// Meta implements rule.Rule.
func (*trailRule) Meta() *rule.Meta { return &meta }

// aspect is one property of a trail a call can weaken.
type aspect string

const (
	aspectLogging    aspect = "logging"
	aspectValidation aspect = "log-file validation"
	aspectMulti      aspect = "multi-region"
	aspectKMS        aspect = "KMS encryption"
	aspectLogs       aspect = "CloudWatch Logs delivery"
	aspectSelectors  aspect = "management events"
	aspectExists     aspect = "existence"
)

// evidence is what the call did to the trail.
type evidence struct {
	Name    string // as the call gave it: a name or an ARN
	Aspects []aspect
	// Selectors are the event selectors the call set (PutEventSelectors).
	Selectors         []cttypes.EventSelector
	AdvancedSelectors []cttypes.AdvancedEventSelector
}

// arnRegion is the region of a trail ARN, or "" for a bare name.
func arnRegion(nameOrARN string) string {
	parts := strings.SplitN(nameOrARN, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}

// trailName is the bare name of a trail given by name or ARN.
func trailName(nameOrARN string) string {
	if _, name, ok := strings.Cut(nameOrARN, ":trail/"); ok {
		return name
	}
	return nameOrARN
}

type updateRequest struct {
	Name                      string        `json:"name"`
	EnableLogFileValidation   *trigger.Bool `json:"enableLogFileValidation"`
	IsMultiRegionTrail        *trigger.Bool `json:"isMultiRegionTrail"`
	KMSKeyID                  *string       `json:"kmsKeyId"`
	CloudWatchLogsLogGroupArn *string       `json:"cloudWatchLogsLogGroupArn"`
}

type selectorsRequest struct {
	TrailName         string                          `json:"trailName"`
	EventSelectors    []cttypes.EventSelector         `json:"eventSelectors"`
	AdvancedSelectors []cttypes.AdvancedEventSelector `json:"advancedEventSelectors"`
}

// Targets implements rule.Rule: the trail the call named and the aspects it
// weakened. A call that weakened nothing (an UpdateTrail of the S3 prefix,
// selectors that keep management events) yields a target with no aspects.
func (*trailRule) Targets(call *trigger.APICall, p rule.Params) ([]rule.Target, error) {
	ev := evidence{}
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
		ev.Name, ev.Aspects = req.Name, []aspect{aspectLogging}
		if call.EventName == "DeleteTrail" {
			ev.Aspects = []aspect{aspectExists}
		}
	case "UpdateTrail":
		var req updateRequest
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, bad(err)
		}
		ev.Name = req.Name
		if v := req.EnableLogFileValidation; v != nil && !bool(*v) && on(p, ParamValidation) {
			ev.Aspects = append(ev.Aspects, aspectValidation)
		}
		if v := req.IsMultiRegionTrail; v != nil && !bool(*v) && on(p, ParamMultiRegion) {
			ev.Aspects = append(ev.Aspects, aspectMulti)
		}
		if v := req.KMSKeyID; v != nil && *v == "" && p[ParamKMS] != "" {
			ev.Aspects = append(ev.Aspects, aspectKMS)
		}
		if v := req.CloudWatchLogsLogGroupArn; v != nil && *v == "" && p[ParamLogGroup] != "" {
			ev.Aspects = append(ev.Aspects, aspectLogs)
		}
	case "PutEventSelectors":
		var req selectorsRequest
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, bad(err)
		}
		ev.Name, ev.Selectors, ev.AdvancedSelectors = req.TrailName, req.EventSelectors, req.AdvancedSelectors
		if !recordsManagement(req.EventSelectors, req.AdvancedSelectors) {
			ev.Aspects = []aspect{aspectSelectors}
		}
	default:
		return nil, nil
	}
	if ev.Name == "" {
		return nil, fmt.Errorf("%w: %s names no trail", trigger.ErrInput, call.EventName)
	}
	return []rule.Target{{Type: ResourceType, ID: ev.Name, Region: call.Region, Evidence: ev}}, nil
}

// recordsManagement reports whether selectors record all management events,
// reads and writes.
func recordsManagement(basic []cttypes.EventSelector, advanced []cttypes.AdvancedEventSelector) bool {
	for _, s := range basic {
		if aws.ToBool(s.IncludeManagementEvents) && (s.ReadWriteType == cttypes.ReadWriteTypeAll || s.ReadWriteType == "") {
			return true
		}
	}
	for _, s := range advanced {
		mgmt, readOnlyFilter := false, false
		for _, f := range s.FieldSelectors {
			switch aws.ToString(f.Field) {
			case "eventCategory":
				mgmt = slices.Contains(f.Equals, "Management")
			case "readOnly":
				readOnlyFilter = true
			}
		}
		if mgmt && !readOnlyFilter {
			return true
		}
	}
	return false
}

// withManagement adds what is missing for management events, leaving every
// existing selector (and its data events) as it was.
func withManagement(basic []cttypes.EventSelector, advanced []cttypes.AdvancedEventSelector) selectorParams {
	if len(advanced) > 0 {
		return selectorParams{Advanced: append(slices.Clone(advanced), cttypes.AdvancedEventSelector{
			Name:           aws.String("Management events (restored by Rampart)"),
			FieldSelectors: []cttypes.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Management"}}},
		})}
	}
	return selectorParams{Basic: append(slices.Clone(basic), cttypes.EventSelector{
		ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)})}
}

// Evaluate implements rule.Rule.
func (r *trailRule) Evaluate(ctx context.Context, s *awsclient.Session, t rule.Target, p rule.Params) (rule.Finding, error) {
	ev, ok := t.Evidence.(evidence)
	if !ok {
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "cloudtrail-integrity judges CloudTrail calls only"}, nil
	}
	if len(ev.Aspects) == 0 {
		return rule.Finding{Verdict: rule.Compliant, Reason: "the call weakened nothing the baseline requires"}, nil
	}
	if s.Offline {
		return r.planFromEvent(ev, p), nil
	}
	// A trail named by an ARN of another region lives there: the Rampart
	// deployment of that region acts on it (no call needed to know).
	if home := arnRegion(ev.Name); home != "" && home != s.Region {
		return rule.Finding{Verdict: rule.NotApplicable, Resource: ev.Name,
			Reason: "a trail whose home region is " + home + "; the Rampart deployment there acts on it"}, nil
	}
	client := awsclient.Client(s, cloudtrail.NewFromConfig)
	got, err := client.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(ev.Name)})
	if awsclient.HasCode(err, "TrailNotFoundException") {
		if slices.Contains(ev.Aspects, aspectExists) {
			return r.deleted(ev, p), nil
		}
		return rule.Finding{Verdict: rule.NotApplicable, Reason: "the trail no longer exists"}, nil
	}
	if err != nil {
		return rule.Finding{}, fmt.Errorf("get trail %s: %w", ev.Name, err)
	}
	trail := got.Trail
	// Actions name the trail by its name, valid in its home region (moto
	// 5.2.1 answers 500 to StartLogging by ARN); the decision reports the ARN.
	arn, name := aws.ToString(trail.TrailARN), aws.ToString(trail.Name)
	f := rule.Finding{Resource: arn}
	if slices.Contains(ev.Aspects, aspectExists) {
		f.Verdict, f.Reason = rule.Compliant, "the trail exists again"
		return f, nil
	}
	// A trail named by name may still be the shadow of another region's
	// multi-region trail. (moto 5.2.1 does not model shadow trails: GetTrail
	// in another region does not find them, so only the ARN path above is
	// tested against it.)
	if home := aws.ToString(trail.HomeRegion); home != "" && home != s.Region {
		f.Verdict, f.Reason = rule.NotApplicable, "a shadow of a trail whose home region is "+home+"; the Rampart deployment there acts on it"
		return f, nil
	}
	tags, err := listTags(ctx, client, arn)
	if err != nil {
		return rule.Finding{}, err
	}
	f.Tags = tags
	var weak []string
	pl := newPlan(name)
	for _, a := range ev.Aspects {
		var why string
		var sel selectorParams
		switch a {
		case aspectLogging:
			st, err := client.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
			if err != nil {
				return rule.Finding{}, fmt.Errorf("get trail status %s: %w", arn, err)
			}
			if !aws.ToBool(st.IsLogging) {
				why = "logging is stopped"
			}
		case aspectValidation:
			if !aws.ToBool(trail.LogFileValidationEnabled) {
				why = "log-file validation is off"
			}
		case aspectMulti:
			if !aws.ToBool(trail.IsMultiRegionTrail) {
				why = "the trail records one region only"
			}
		case aspectKMS:
			if aws.ToString(trail.KmsKeyId) == "" {
				why = "logs are not KMS-encrypted"
			}
		case aspectLogs:
			if aws.ToString(trail.CloudWatchLogsLogGroupArn) == "" {
				why = "logs are not delivered to CloudWatch Logs"
			}
		case aspectSelectors:
			got, err := client.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
			if err != nil {
				return rule.Finding{}, fmt.Errorf("get event selectors %s: %w", arn, err)
			}
			if !recordsManagement(got.EventSelectors, got.AdvancedEventSelectors) {
				why = "management events are not recorded (reads and writes)"
				sel = selectorParams{Basic: got.EventSelectors, Advanced: got.AdvancedEventSelectors}
			}
		}
		if why != "" {
			weak = append(weak, why)
			pl.restore(a, p, sel)
		}
	}
	acts := pl.actions()
	if len(weak) == 0 {
		f.Verdict, f.Reason = rule.Compliant, "the trail already meets the baseline for what the call changed"
		return f, nil
	}
	f.Verdict, f.Reason = rule.Violation, strings.Join(weak, "; ")
	if trail.IsOrganizationTrail != nil && *trail.IsOrganizationTrail && !ownedBy(arn, t.Call) {
		f.Reason += " — an organization trail owned by the management account; alerting only"
		f.Actions = []rule.Action{rule.Alert(arn, f.Reason)}
		return f, nil
	}
	f.Actions = acts
	return f, nil
}

// ownedBy reports whether the trail ARN belongs to the account the call was
// recorded in (organization trails appear in member accounts too).
func ownedBy(arn string, call *trigger.APICall) bool {
	if call == nil || call.Account == "" {
		return true
	}
	parts := strings.Split(arn, ":")
	return len(parts) < 5 || parts[4] == call.Account
}

func listTags(ctx context.Context, client *cloudtrail.Client, arn string) (map[string]string, error) {
	out, err := client.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, rt := range out.ResourceTagList {
		for _, tg := range rt.TagsList {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
	}
	return tags, nil
}

// deleted decides a trail that is gone: recreate the baseline trail when the
// deployment names it, otherwise alert.
func (r *trailRule) deleted(ev evidence, p rule.Params) rule.Finding {
	name := trailName(ev.Name)
	if p[ParamTrailName] == "" || p[ParamTrailName] != name || p[ParamBucket] == "" {
		reason := "trail " + name + " was deleted and is not the deployment's baseline trail (" + ParamTrailName + ", " + ParamBucket + "), so Rampart cannot recreate it"
		return rule.Finding{Verdict: rule.Violation, Reason: reason, Actions: []rule.Action{rule.Alert(name, reason)}}
	}
	c := createParams{Name: name, Bucket: p[ParamBucket], MultiRegion: on(p, ParamMultiRegion), Validation: on(p, ParamValidation),
		KMSKeyID: p[ParamKMS], LogGroupARN: p[ParamLogGroup], LogRoleARN: p[ParamLogRole]}
	del := rule.NewAction(apiDelete, name, "delete the recreated trail", nameParams{name}, nil)
	stop := rule.NewAction(apiStop, name, "stop logging", nameParams{name}, nil)
	return rule.Finding{Verdict: rule.Violation, Reason: "the baseline trail " + name + " was deleted", Actions: []rule.Action{
		rule.NewAction(apiCreate, name, "recreate the baseline trail", c, &del),
		rule.NewAction(apiStart, name, "start logging", nameParams{name}, &stop),
	}}
}

// planFromEvent is the offline plan: what the call alone implies.
func (r *trailRule) planFromEvent(ev evidence, p rule.Params) rule.Finding {
	if slices.Contains(ev.Aspects, aspectExists) {
		return r.deleted(ev, p)
	}
	var weak []string
	pl := newPlan(ev.Name)
	for _, a := range ev.Aspects {
		weak = append(weak, "the call turned off "+string(a))
		pl.restore(a, p, selectorParams{Basic: ev.Selectors, Advanced: ev.AdvancedSelectors})
	}
	return rule.Finding{Verdict: rule.Violation, Reason: strings.Join(weak, "; "), Actions: pl.actions()}
}

// plan collects what restores a trail's weakened aspects: an action for
// logging and one for the selectors, and a single UpdateTrail for all the
// settings, each with its undo.
type plan struct {
	name      string
	acts      []rule.Action
	upd, undo updateParams
}

func newPlan(name string) *plan {
	return &plan{name: name, upd: updateParams{Name: name}, undo: updateParams{Name: name}}
}

// restore plans the fix of one weakened aspect; sel are the trail's current
// selectors (or those the call set), for the selectors aspect.
func (pl *plan) restore(a aspect, p rule.Params, sel selectorParams) {
	name := pl.name
	switch a {
	case aspectLogging:
		stop := rule.NewAction(apiStop, name, "stop logging again", nameParams{name}, nil)
		pl.acts = append(pl.acts, rule.NewAction(apiStart, name, "restart logging", nameParams{name}, &stop))
	case aspectValidation:
		pl.upd.EnableLogFileValidation, pl.undo.EnableLogFileValidation = aws.Bool(true), aws.Bool(false)
	case aspectMulti:
		pl.upd.IsMultiRegionTrail, pl.undo.IsMultiRegionTrail = aws.Bool(true), aws.Bool(false)
	case aspectKMS:
		pl.upd.KMSKeyID, pl.undo.KMSKeyID = aws.String(p[ParamKMS]), aws.String("")
	case aspectLogs:
		pl.upd.LogGroupARN, pl.upd.LogRoleARN = aws.String(p[ParamLogGroup]), aws.String(p[ParamLogRole])
		pl.undo.LogGroupARN, pl.undo.LogRoleARN = aws.String(""), aws.String("")
	case aspectSelectors:
		prev := selectorParams{Name: name, Basic: sel.Basic, Advanced: sel.Advanced}
		fix := withManagement(sel.Basic, sel.Advanced)
		fix.Name = name
		back := rule.NewAction(apiSelectors, name, "put back the previous event selectors", prev, nil)
		pl.acts = append(pl.acts, rule.NewAction(apiSelectors, name, "record all management events again", fix, &back))
	}
}

// actions is the plan, the settings update last.
func (pl *plan) actions() []rule.Action {
	if !pl.upd.changes() {
		return pl.acts
	}
	back := rule.NewAction(apiUpdate, pl.name, "put back the weakened settings", pl.undo, nil)
	return append(pl.acts, rule.NewAction(apiUpdate, pl.name, "restore "+pl.upd.describe(), pl.upd, &back))
}
