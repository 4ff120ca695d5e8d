// Package detectorsenabled holds detectors-enabled: the account's threat
// and exposure detectors — GuardDuty, Security Hub, Inspector2 and IAM
// Access Analyzer — stay on in every region where the deployment says they
// are part of the baseline. Turning a detector off is defense evasion: the
// intruder blinds the alarms before acting.
//
// Any call that can switch a detector off (DeleteDetector, UpdateDetector,
// CreateDetector, DeletePublishingDestination, DisableSecurityHub,
// Inspector2 Disable, DeleteAnalyzer) is only the cue to look: the
// service's current state in the region is judged whole (a detector
// exists and is enabled; the hub is enabled; Inspector2 scans every
// resource type the deployment names; an active analyzer exists), so a
// detector deleted and re-created disabled is a violation, and a change of
// finding frequency is not. A service in the baseline is restored; any
// other is only alerted. An hourly sweep judges every baseline service, so
// a lost event is reconciled.
//
// It owns the restore and undo calls of those four services and nothing
// else: features, filters, members and standards are left alone.
package detectorsenabled

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// ResourceType is the Config type of account-level rules.
const ResourceType = "AWS::::Account"

// The services the rule guards, as the baseline parameter names them; each
// is also the ID of its target.
const (
	GuardDuty      = "guardduty"
	SecurityHub    = "securityhub"
	Inspector2     = "inspector2"
	AccessAnalyzer = "accessanalyzer"
)

// Services are the guarded services, in the order decisions list them.
var Services = []string{GuardDuty, SecurityHub, Inspector2, AccessAnalyzer}

// targetType is the resource type each service's decision reports.
var targetType = map[string]string{
	GuardDuty:      "AWS::GuardDuty::Detector",
	SecurityHub:    "AWS::SecurityHub::Hub",
	Inspector2:     ResourceType,
	AccessAnalyzer: "AWS::AccessAnalyzer::Analyzer",
}

// IAM actions, as plans name them.
const (
	APIListDetectors  = "guardduty:ListDetectors"
	APIGetDetector    = "guardduty:GetDetector"
	APICreateDetector = "guardduty:CreateDetector"
	APIUpdateDetector = "guardduty:UpdateDetector"
	APIDeleteDetector = "guardduty:DeleteDetector"
	APIListDests      = "guardduty:ListPublishingDestinations"
	APIDescribeDest   = "guardduty:DescribePublishingDestination"
	APICreateDest     = "guardduty:CreatePublishingDestination"
	APIDeleteDest     = "guardduty:DeletePublishingDestination"
	APIDescribeHub    = "securityhub:DescribeHub"
	APIEnableHub      = "securityhub:EnableSecurityHub"
	APIDisableHub     = "securityhub:DisableSecurityHub"
	APIInspectorState = "inspector2:BatchGetAccountStatus"
	APIInspectorOn    = "inspector2:Enable"
	APIInspectorOff   = "inspector2:Disable"
	APIListAnalyzers  = "access-analyzer:ListAnalyzers"
	APICreateAnalyzer = "access-analyzer:CreateAnalyzer"
	APIDeleteAnalyzer = "access-analyzer:DeleteAnalyzer"
)

// Parameter names.
const (
	ParamBaseline          = "baseline"
	ParamHubStandards      = "securityHubDefaultStandards"
	ParamInspectorTypes    = "inspector2ResourceTypes"
	ParamAnalyzerName      = "accessAnalyzerName"
	ParamDestination       = "guardDutyDestinationArn"
	ParamDestinationKey    = "guardDutyDestinationKmsKeyArn"
	DefaultInspectorTypes  = "EC2,ECR,LAMBDA"
	DefaultAnalyzerName    = "rampart-account-analyzer"
	inspectorTypesAccepted = "EC2, ECR, LAMBDA, LAMBDA_CODE, CODE_REPOSITORY"
)

var (
	inspectorTypes = []string{"EC2", "ECR", "LAMBDA", "LAMBDA_CODE", "CODE_REPOSITORY"}
	// compiled on first use, not at every cold start ({0,254} compiles 254 copies)
	analyzerPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,254}$`) })
)

// Rule is detectors-enabled.
var Rule = rule.Define(rule.Spec[State, Params]{
	Meta:    &meta,
	Parse:   Parse,
	Targets: targets,
	Observe: observe,
	Plan:    plan,
	Judge:   Judge,
	Apply:   apply,
	Sweep:   sweep,
})

var meta = rule.Meta{
	ID:       "detectors-enabled",
	Title:    "GuardDuty, Security Hub, Inspector2 and Access Analyzer stay on",
	Severity: rule.Critical,
	Rationale: "Disabling the threat detectors is the defense evasion that comes before the attack: a deleted or disabled GuardDuty detector, " +
		"a disabled Security Hub, Inspector2 switched off or the Access Analyzer deleted each silence the alarms an intruder would raise.",
	Remediation: "Re-creates or re-enables the GuardDuty detector, enables Security Hub again, re-enables Inspector2 scanning of the baseline's resource types " +
		"and re-creates the account analyzer, for the services the deployment names as its baseline; alerts on any other.",
	ResourceType: ResourceType,
	Function:     "detectors",
	CloudTrail: []rule.CloudTrailTrigger{
		{Source: "guardduty.amazonaws.com", Events: []string{"DeleteDetector", "UpdateDetector", "CreateDetector", "DeletePublishingDestination"}},
		{Source: "securityhub.amazonaws.com", Events: []string{"DisableSecurityHub"}},
		{Source: "inspector2.amazonaws.com", Events: []string{"Disable"}},
		{Source: "access-analyzer.amazonaws.com", Events: []string{"DeleteAnalyzer"}},
	},
	Schedule: "rate(1 hour)",
	Params: []rule.Param{
		{Name: ParamBaseline, Default: "", Description: "the services to keep on and restore, comma-separated: " + strings.Join(Services, ", ") +
			" (a service left out is only alerted when it is switched off; empty: alert only)", Check: checkBaseline},
		{Name: ParamHubStandards, Default: "true", Description: "whether re-enabling Security Hub enables its default standards again (disabling it dropped every subscription)", Check: checkBool},
		{Name: ParamInspectorTypes, Default: DefaultInspectorTypes, Description: "the resource types Inspector2 must scan, comma-separated: " + inspectorTypesAccepted, Check: checkInspectorTypes},
		{Name: ParamAnalyzerName, Default: DefaultAnalyzerName, Description: "name of the account analyzer re-created when none is left", Check: checkAnalyzerName},
		{Name: ParamDestination, Default: "", Description: "S3 bucket (or folder) ARN every GuardDuty detector exports findings to, with the key below; unset: publishing destinations are not judged, and removing one is only alerted", Check: checkDestination},
		{Name: ParamDestinationKey, Default: "", Description: "KMS key ARN GuardDuty encrypts exported findings with (required with the destination)", Check: checkKeyARN},
	},
	ReadActions:  []string{APIListDetectors, APIGetDetector, APIListDests, APIDescribeDest, APIDescribeHub, APIInspectorState, APIListAnalyzers},
	WriteActions: []string{APICreateDetector, APIUpdateDetector, APICreateDest, APIEnableHub, APIInspectorOn, APICreateAnalyzer},
	// Each service's restore is granted only when the baseline names it.
	ParamWrites: []rule.ParamWrite{
		{Actions: []string{APICreateDetector, APIUpdateDetector}, When: []string{ParamBaseline + "~=" + GuardDuty}},
		{Actions: []string{APICreateDest}, When: []string{ParamBaseline + "~=" + GuardDuty, ParamDestination}},
		{Actions: []string{APIEnableHub}, When: []string{ParamBaseline + "~=" + SecurityHub}},
		{Actions: []string{APIInspectorOn}, When: []string{ParamBaseline + "~=" + Inspector2}},
		{Actions: []string{APICreateAnalyzer}, When: []string{ParamBaseline + "~=" + AccessAnalyzer}},
	},

	ListExemptionsOnly: true, // guards the detectors: only the checked-in list exempts
}

// Params are the rule's typed parameters.
type Params struct {
	// Baseline are the services to restore.
	Baseline []string
	// HubStandards: EnableSecurityHub enables the default standards.
	HubStandards bool
	// InspectorTypes are the resource types Inspector2 must scan.
	InspectorTypes []string
	// AnalyzerName names the analyzer re-created when none is left.
	AnalyzerName string
	// Destination and DestinationKey are where every detector exports its
	// findings; "" when the deployment names none.
	Destination, DestinationKey string
}

// InBaseline reports whether the deployment restores service.
func (p Params) InBaseline(service string) bool { return slices.Contains(p.Baseline, service) }

func list(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func checkBaseline(s string) error {
	seen := map[string]bool{}
	for _, v := range list(s) {
		if !slices.Contains(Services, v) {
			return fmt.Errorf("unknown service %q: want some of %s", v, strings.Join(Services, ", "))
		}
		if seen[v] {
			return fmt.Errorf("%s named twice", v)
		}
		seen[v] = true
	}
	return nil
}

func checkBool(s string) error {
	_, err := strconv.ParseBool(s)
	return err
}

func checkInspectorTypes(s string) error {
	vs := list(s)
	if len(vs) == 0 {
		return errors.New("name at least one resource type: " + inspectorTypesAccepted)
	}
	for _, v := range vs {
		if !slices.Contains(inspectorTypes, v) {
			return fmt.Errorf("unknown resource type %q: want some of %s", v, inspectorTypesAccepted)
		}
	}
	return nil
}

func checkAnalyzerName(s string) error {
	if !analyzerPattern().MatchString(s) {
		return errors.New("not an analyzer name (a letter, then letters, digits, _ . -)")
	}
	return nil
}

func checkDestination(s string) error {
	if s == "" {
		return nil
	}
	a, err := arn.Parse(s)
	if err != nil || a.Service != "s3" || a.Resource == "" || a.Region != "" || a.AccountID != "" {
		return errors.New("want an S3 bucket or folder ARN (arn:<partition>:s3:::bucket[/folder/])")
	}
	return nil
}

func checkKeyARN(s string) error {
	if s == "" {
		return nil
	}
	a, err := arn.Parse(s)
	if err != nil || a.Service != "kms" || !strings.HasPrefix(a.Resource, "key/") || len(a.Resource) == len("key/") {
		return errors.New("want a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)")
	}
	return nil
}

// Parse reads the resolved parameters (each already checked).
func Parse(p rule.Params) (Params, error) {
	for name, check := range map[string]func(string) error{ParamBaseline: checkBaseline, ParamInspectorTypes: checkInspectorTypes, ParamAnalyzerName: checkAnalyzerName,
		ParamHubStandards: checkBool, ParamDestination: checkDestination, ParamDestinationKey: checkKeyARN} {
		if err := check(p[name]); err != nil {
			return Params{}, fmt.Errorf("%s: parameter %s=%q: %w", meta.ID, name, p[name], err)
		}
	}
	if (p[ParamDestination] == "") != (p[ParamDestinationKey] == "") {
		return Params{}, fmt.Errorf("%s: %s and %s go together: GuardDuty exports to S3 only with a KMS key", meta.ID, ParamDestination, ParamDestinationKey)
	}
	std, _ := strconv.ParseBool(p[ParamHubStandards])
	out := Params{Baseline: list(p[ParamBaseline]), HubStandards: std, InspectorTypes: list(p[ParamInspectorTypes]), AnalyzerName: p[ParamAnalyzerName],
		Destination: p[ParamDestination], DestinationKey: p[ParamDestinationKey]}
	slices.Sort(out.InspectorTypes)
	out.InspectorTypes = slices.Compact(out.InspectorTypes)
	return out, nil
}

// --- state and judgement ----------------------------------------------------

// Detector is a GuardDuty detector of the region.
type Detector struct {
	ID      string
	Enabled bool
	// Destinations are the ARNs it exports findings to; read only when
	// the deployment names a destination.
	Destinations []string
}

// Analyzer is an IAM Access Analyzer analyzer of the region.
type Analyzer struct {
	Name, Type, Status string
}

// State is what the rule judges of one service in one account and region;
// only the fields of the target's service are read.
type State struct {
	// Account is the account the service is judged in (Inspector2 takes it).
	Account string
	// Detectors are GuardDuty's (at most one per account and region).
	Detectors []Detector
	// HubEnabled: Security Hub is enabled.
	HubEnabled bool
	// Scans is each Inspector2 resource type's status (ENABLED, ENABLING,
	// DISABLED, …); a type left out is not scanned.
	Scans map[string]string
	// Analyzers are Access Analyzer's.
	Analyzers []Analyzer
}

// Evidence is what the call that named the target says.
type Evidence struct {
	Event string
	// DetectorID is the GuardDuty detector the call named or created.
	DetectorID string
	// Enable is what CreateDetector or UpdateDetector set (nil: not set).
	Enable *bool
	// Destination is the publishing destination DeletePublishingDestination removed.
	Destination string
	// ResourceTypes are the Inspector2 types Disable named (empty: all).
	ResourceTypes []string
	// Accounts are the accounts Inspector2 Disable named.
	Accounts []string
	// Analyzer is the analyzer DeleteAnalyzer removed.
	Analyzer string
}

// Action params.

// DetectorParams are the params of the GuardDuty actions. A publishing
// destination's actions name it by its ARN (its ID is GuardDuty's, unknown
// until created); an empty detector ID is the region's one detector.
type DetectorParams struct {
	Region         string `json:"region"`
	DetectorID     string `json:"detectorId,omitempty"`
	Enable         *bool  `json:"enable,omitempty"`
	DestinationArn string `json:"destinationArn,omitempty"`
	KmsKeyArn      string `json:"kmsKeyArn,omitempty"`
}

// HubParams are the params of the Security Hub actions.
type HubParams struct {
	Region                 string `json:"region"`
	EnableDefaultStandards *bool  `json:"enableDefaultStandards,omitempty"`
}

// InspectorParams are the params of the Inspector2 actions.
type InspectorParams struct {
	Region        string   `json:"region"`
	AccountIDs    []string `json:"accountIds"`
	ResourceTypes []string `json:"resourceTypes"`
}

// AnalyzerParams are the params of the Access Analyzer actions.
type AnalyzerParams struct {
	Region string `json:"region"`
	Name   string `json:"analyzerName"`
	Type   string `json:"type,omitempty"`
}

// scanning reports whether an Inspector2 resource type's status counts as on.
func scanning(status string) bool { return status == "ENABLED" || status == "ENABLING" }

// analyzing reports whether an analyzer covers the account's resources.
func analyzing(a Analyzer) bool {
	return (a.Type == "ACCOUNT" || a.Type == "ORGANIZATION") && (a.Status == "ACTIVE" || a.Status == "CREATING")
}

// Judge decides one service of one region: the whole desired state, not
// just what the call touched. A service outside the baseline is alerted,
// never changed. Pure.
func Judge(st State, t rule.Target, p Params, f rule.Facts) rule.Finding {
	region := t.Region
	if region == "" {
		region = f.Region
	}
	account := st.Account
	if account == "" {
		account = f.Account
	}
	problem, fix := judgeService(t.ID, st, region, account, p)
	if problem != "" && !p.InBaseline(t.ID) {
		problem += " (" + t.ID + " is not in the deployment's baseline: alert only)"
		fix = []rule.Action{rule.Alert(t.ID, problem)}
	}
	ev, _ := t.Evidence.(Evidence)
	if ev.Event == "DeletePublishingDestination" && p.Destination == "" {
		// Where GuardDuty exports findings is not part of the state read:
		// the call itself is the violation, and only an alert answers it.
		what := fmt.Sprintf("publishing destination %s was removed from GuardDuty detector %s in %s: findings are no longer exported; restore it by hand",
			orUnknown(ev.Destination), orUnknown(ev.DetectorID), region)
		if problem != "" {
			what = problem + "; " + what
		}
		if !p.InBaseline(t.ID) {
			fix = nil // the one alert says it all
		}
		return rule.Finding{Verdict: rule.Violation, Reason: what, Actions: append(fix, rule.Alert(t.ID, what))}
	}
	if problem == "" {
		return rule.Finding{Verdict: rule.Compliant, Reason: compliant(t.ID, region, p)}
	}
	return rule.Finding{Verdict: rule.Violation, Reason: problem, Actions: fix}
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func compliant(service, region string, p Params) string {
	switch service {
	case GuardDuty:
		return "the GuardDuty detector is enabled in " + region
	case SecurityHub:
		return "Security Hub is enabled in " + region
	case Inspector2:
		return "Inspector2 scans " + strings.Join(p.InspectorTypes, ", ") + " in " + region
	case AccessAnalyzer:
		return "an active IAM Access Analyzer analyzer exists in " + region
	}
	return service + " is on in " + region
}

// judgeService says what is wrong with one service and plans the fix (each
// action with its undo); "" when nothing is.
func judgeService(service string, st State, region, account string, p Params) (string, []rule.Action) {
	switch service {
	case GuardDuty:
		return judgeGuardDuty(st.Detectors, region, p)
	case SecurityHub:
		if st.HubEnabled {
			return "", nil
		}
		undo := rule.NewAction(APIDisableHub, SecurityHub, "disable Security Hub again", HubParams{Region: region}, nil)
		return "Security Hub is disabled in " + region, []rule.Action{rule.NewAction(APIEnableHub, SecurityHub, "enable Security Hub in "+region,
			HubParams{Region: region, EnableDefaultStandards: ptr(p.HubStandards)}, &undo)}
	case Inspector2:
		var missing []string
		for _, rt := range p.InspectorTypes {
			if !scanning(st.Scans[rt]) {
				missing = append(missing, rt)
			}
		}
		if len(missing) == 0 {
			return "", nil
		}
		ip := InspectorParams{Region: region, AccountIDs: []string{account}, ResourceTypes: missing}
		undo := rule.NewAction(APIInspectorOff, Inspector2, "stop scanning "+strings.Join(missing, ", ")+" again", ip, nil)
		return "Inspector2 does not scan " + strings.Join(missing, ", ") + " in " + region, []rule.Action{rule.NewAction(APIInspectorOn, Inspector2,
			"scan "+strings.Join(missing, ", ")+" with Inspector2 in "+region, ip, &undo)}
	case AccessAnalyzer:
		if slices.ContainsFunc(st.Analyzers, analyzing) {
			return "", nil
		}
		if len(st.Analyzers) > 0 {
			// An analyzer that exists but is not active (disabled with the
			// organization's trusted access, failed) is not fixed by another.
			var names []string
			for _, a := range st.Analyzers {
				names = append(names, a.Name+" ("+a.Type+", "+a.Status+")")
			}
			reason := "no IAM Access Analyzer analyzer is active in " + region + ": " + strings.Join(names, ", ")
			return reason, []rule.Action{rule.Alert(AccessAnalyzer, reason+"; Rampart does not replace an analyzer that exists")}
		}
		ap := AnalyzerParams{Region: region, Name: p.AnalyzerName, Type: "ACCOUNT"}
		undo := rule.NewAction(APIDeleteAnalyzer, p.AnalyzerName, "delete the re-created analyzer", AnalyzerParams{Region: region, Name: p.AnalyzerName}, nil)
		return "IAM Access Analyzer has no analyzer in " + region, []rule.Action{rule.NewAction(APICreateAnalyzer, p.AnalyzerName,
			"create the account analyzer "+p.AnalyzerName+" in "+region, ap, &undo)}
	}
	return "", nil
}

func judgeGuardDuty(ds []Detector, region string, p Params) (string, []rule.Action) {
	export := func(id string) rule.Action {
		dp := DetectorParams{Region: region, DetectorID: id, DestinationArn: p.Destination, KmsKeyArn: p.DestinationKey}
		undo := rule.NewAction(APIDeleteDest, GuardDuty, "remove the re-created publishing destination", DetectorParams{Region: region, DetectorID: id, DestinationArn: p.Destination}, nil)
		return rule.NewAction(APICreateDest, GuardDuty, "export GuardDuty findings to "+p.Destination+" again", dp, &undo)
	}
	if len(ds) == 0 {
		undo := rule.NewAction(APIDeleteDetector, GuardDuty, "delete the re-created detector", DetectorParams{Region: region}, nil)
		acts := []rule.Action{rule.NewAction(APICreateDetector, GuardDuty,
			"create an enabled GuardDuty detector in "+region, DetectorParams{Region: region, Enable: ptr(true)}, &undo)}
		if p.Destination != "" {
			acts = append(acts, export("")) // the new detector: the region's one
		}
		return "GuardDuty has no detector in " + region, acts
	}
	var problems []string
	var acts []rule.Action
	for _, d := range ds {
		if !d.Enabled {
			problems = append(problems, "GuardDuty detector "+d.ID+" is disabled in "+region)
			undo := rule.NewAction(APIUpdateDetector, d.ID, "disable the detector again", DetectorParams{Region: region, DetectorID: d.ID, Enable: ptr(false)}, nil)
			acts = append(acts, rule.NewAction(APIUpdateDetector, d.ID, "enable GuardDuty detector "+d.ID,
				DetectorParams{Region: region, DetectorID: d.ID, Enable: ptr(true)}, &undo))
		}
		if p.Destination != "" && !slices.Contains(d.Destinations, p.Destination) {
			problems = append(problems, "GuardDuty detector "+d.ID+" does not export findings to "+p.Destination)
			acts = append(acts, export(d.ID))
		}
	}
	return strings.Join(problems, "; "), acts
}

func ptr[T any](v T) *T { return &v }

// --- triggers ---------------------------------------------------------------

// serviceOf maps an event source to the service it concerns.
var serviceOf = map[string]string{
	"guardduty.amazonaws.com":       GuardDuty,
	"securityhub.amazonaws.com":     SecurityHub,
	"inspector2.amazonaws.com":      Inspector2,
	"access-analyzer.amazonaws.com": AccessAnalyzer,
}

// request holds every field the triggers' requestParameters carry.
type request struct {
	DetectorID    string        `json:"detectorId"`
	Enable        *trigger.Bool `json:"enable"`
	DestinationID string        `json:"destinationId"`
	AccountIDs    []string      `json:"accountIds"`
	ResourceTypes []string      `json:"resourceTypes"`
	AnalyzerName  string        `json:"analyzerName"`
}

// targets names the service of the call in the call's account and region.
// Which field the call set does not decide: the whole service is judged.
func targets(call *trigger.APICall, _ Params) ([]rule.Target, error) {
	service, ok := serviceOf[call.EventSource]
	if !ok {
		return nil, nil
	}
	var req request
	if len(call.Request) > 0 && string(call.Request) != "null" {
		if err := json.Unmarshal(call.Request, &req); err != nil {
			return nil, fmt.Errorf("%w: %s requestParameters: %w", trigger.ErrInput, call.EventName, err)
		}
	}
	ev := Evidence{Event: call.EventName, DetectorID: req.DetectorID, Destination: req.DestinationID,
		ResourceTypes: req.ResourceTypes, Accounts: req.AccountIDs, Analyzer: req.AnalyzerName}
	if req.Enable != nil {
		ev.Enable = ptr(bool(*req.Enable))
	}
	if call.EventName == "CreateDetector" && len(call.Response) > 0 && string(call.Response) != "null" {
		var resp struct {
			DetectorID string `json:"detectorId"`
		}
		if err := json.Unmarshal(call.Response, &resp); err != nil {
			return nil, fmt.Errorf("%w: CreateDetector responseElements: %w", trigger.ErrInput, err)
		}
		ev.DetectorID = resp.DetectorID
	}
	account := call.Account
	if account == "" {
		account = call.Actor.AccountID
	}
	if account == "" || call.Region == "" {
		return nil, fmt.Errorf("%w: %s names no account or region", trigger.ErrInput, call.EventName)
	}
	if service == Inspector2 && len(ev.Accounts) > 0 && !slices.Contains(ev.Accounts, account) {
		// A delegated administrator switched members off: each member's
		// own deployment judges its account.
		return nil, nil
	}
	return []rule.Target{{Type: targetType[service], ID: service, Region: call.Region, Evidence: ev}}, nil
}

// plan is the state the call alone implies, offline: what it switched off
// is off, everything else as the baseline wants it.
func plan(t rule.Target, p Params) (State, error) {
	ev, ok := t.Evidence.(Evidence)
	if !ok {
		return State{}, rule.Undecided("judging " + t.ID + " needs its current state, which a live run reads")
	}
	st := State{HubEnabled: true, Scans: map[string]string{}, Analyzers: []Analyzer{{Name: p.AnalyzerName, Type: "ACCOUNT", Status: "ACTIVE"}}}
	for _, rt := range p.InspectorTypes {
		st.Scans[rt] = "ENABLED"
	}
	id := ev.DetectorID
	if id == "" {
		id = "(the detector)"
	}
	st.Detectors = []Detector{{ID: id, Enabled: true}}
	if p.Destination != "" && ev.Event != "DeletePublishingDestination" {
		st.Detectors[0].Destinations = []string{p.Destination}
	}
	switch ev.Event {
	case "DeleteDetector":
		st.Detectors = nil
	case "UpdateDetector", "CreateDetector":
		st.Detectors[0].Enabled = ev.Enable == nil || *ev.Enable // not set: left as it was
	case "DisableSecurityHub":
		st.HubEnabled = false
	case "Disable":
		types := ev.ResourceTypes
		if len(types) == 0 {
			types = inspectorTypes // Disable with no type disables every one
		}
		for _, rt := range types {
			st.Scans[rt] = "DISABLED"
		}
	case "DeleteAnalyzer":
		// The event alone says one analyzer is gone; it cannot say whether
		// another is left. An account keeps one as a rule: assume none.
		st.Analyzers = nil
	}
	return st, nil
}
