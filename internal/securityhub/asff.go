// Package securityhub is Rampart's side of AWS Security Hub: it turns a
// decision into a finding in the AWS Security Finding Format (ASFF) of
// Rampart's custom integration (the account's default product), imports
// findings in batches (BatchImportFindings), and reads the findings a
// "Remediate with Rampart" custom action sends, mapping each back to the
// resource a rule judges.
//
// Building a finding is pure (Build, table-tested); Importer is the only
// code here that calls AWS. It decides nothing: which decisions are
// published, and which rule a custom action runs, are the engine's
// (internal/engine/securityhub.go).
package securityhub

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/rampart-aws/rampart/internal/rule"
)

// SchemaVersion is the ASFF version Rampart writes.
const SchemaVersion = "2018-10-08"

// FindingType is the ASFF type of every Rampart finding
// (namespace/category of the ASFF types taxonomy).
const FindingType = "Software and Configuration Checks/AWS Security Best Practices"

// ProductName and CompanyName are shown in the Security Hub console for
// findings of the account's default product (a custom integration).
const (
	ProductName = "Rampart"
	CompanyName = "Rampart"
)

// ProductFields keys Rampart writes (and reads back from its own findings
// in a custom action). "rampart/" keeps them apart from Security Hub's own
// "aws/securityhub/" keys.
const (
	FieldRule          = "rampart/Rule"
	FieldState         = "rampart/State"
	FieldMode          = "rampart/Mode"
	FieldActions       = "rampart/Actions"
	FieldUndo          = "rampart/UndoAvailable"
	FieldResourceID    = "rampart/ResourceId"
	FieldResourceType  = "rampart/ResourceType"
	FieldExemptSource  = "rampart/ExemptBy"
	FieldExemptOwner   = "rampart/ExemptOwner"
	FieldExemptExpires = "rampart/ExemptUntil"
	FieldEventID       = "rampart/EventId"
)

// ASFF limits (AWS Security Hub API reference, AwsSecurityFinding).
const (
	maxID          = 512
	maxTitle       = 256
	maxDescription = 1024
	maxFieldValue  = 2048
	maxRecommend   = 512
)

// State is what a decision left a rule on a resource in, as far as Security
// Hub is concerned.
type State string

// The states a finding is published in.
const (
	Violation  State = "violation"  // open, not (or not yet) fixed
	Remediated State = "remediated" // Rampart fixed it
	Failed     State = "failed"     // Rampart tried to fix it and failed
	Exempt     State = "exempt"     // an exemption covers it
	Compliant  State = "compliant"  // compliant (again)
	Gone       State = "gone"       // the resource no longer exists or left the rule's scope
)

// Input is one decision to publish: what Build needs, nothing more.
type Input struct {
	// Partition, Region and Account are where the resource lives (and
	// whose hub receives the finding).
	Partition, Region, Account string
	Rule                       string
	Title                      string
	Severity                   rule.Severity
	// Remediation is the rule's one-sentence description of its fix.
	Remediation  string
	Resource     string // the rule's resource ID (sg-…, a bucket name, a trail ARN, an account ID)
	ResourceType string // CloudFormation type name
	State        State
	Reason       string
	Mode         string
	Actions      []rule.Action
	// ExemptSource ("tag" or "list"), ExemptOwner and ExemptExpires
	// describe the exemption of an Exempt state.
	ExemptSource, ExemptOwner, ExemptExpires string
	EventID                                  string
	Now                                      time.Time
}

// ProductARN is the ARN of the account's default product, the one a
// custom integration imports its findings under.
func ProductARN(partition, region, account string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", partition, region, account, account)
}

// FindingID is the finding's stable ID: one finding per account, region,
// rule and resource, updated in place by every later import. IDs longer
// than ASFF allows keep a readable prefix and end in a hash of the whole.
func FindingID(account, region, ruleID, resource string) string {
	id := "rampart/" + account + "/" + region + "/" + ruleID + "/" + resource
	if len(id) <= maxID {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:16])
	return truncate(id, maxID-len(h)-1) + "#" + h
}

// SeverityLabel is the ASFF severity label of a rule's severity.
func SeverityLabel(s rule.Severity) types.SeverityLabel {
	switch s {
	case rule.Critical:
		return types.SeverityLabelCritical
	case rule.High:
		return types.SeverityLabelHigh
	case rule.Medium:
		return types.SeverityLabelMedium
	case rule.Low:
		return types.SeverityLabelLow
	}
	return types.SeverityLabelInformational
}

// Build is the ASFF finding of one decision.
//
// Compliance.Status carries the verdict (FAILED while open or exempt,
// PASSED once remediated or compliant, NOT_AVAILABLE once the resource is
// gone) and RecordState archives a gone resource's finding. Workflow.Status
// (NEW, RESOLVED, SUPPRESSED) is written too: Security Hub honours it when
// the import creates the finding; on later imports it keeps the customer's
// workflow (BatchImportFindings cannot change it) and resets it to NEW
// itself when Compliance.Status goes from PASSED back to FAILED. Rampart's
// own state is always in ProductFields (rampart/State), which a Security
// Hub automation rule can match (docs/securityhub.md).
func Build(in Input) types.AwsSecurityFinding {
	now := in.Now.UTC().Format(time.RFC3339Nano)
	compliance, workflow, record := types.ComplianceStatusFailed, types.WorkflowStatusNew, types.RecordStateActive
	label := SeverityLabel(in.Severity)
	switch in.State {
	case Remediated, Compliant:
		compliance, workflow, label = types.ComplianceStatusPassed, types.WorkflowStatusResolved, types.SeverityLabelInformational
	case Exempt:
		workflow = types.WorkflowStatusSuppressed
	case Gone:
		compliance, workflow, record, label = types.ComplianceStatusNotAvailable, types.WorkflowStatusResolved, types.RecordStateArchived, types.SeverityLabelInformational
	case Violation, Failed:
		// open: FAILED, NEW, the rule's severity
	}
	fields := map[string]string{
		FieldRule:         in.Rule,
		FieldState:        string(in.State),
		FieldMode:         orDash(in.Mode),
		FieldActions:      truncate(actions(in.Actions), maxFieldValue),
		FieldUndo:         strconv.FormatBool(undoable(in.Actions)),
		FieldResourceID:   truncate(in.Resource, maxFieldValue),
		FieldResourceType: in.ResourceType,
	}
	if in.EventID != "" {
		fields[FieldEventID] = truncate(in.EventID, maxFieldValue)
	}
	if in.State == Exempt {
		fields[FieldExemptSource] = orDash(in.ExemptSource)
		fields[FieldExemptOwner] = truncate(orDash(in.ExemptOwner), maxFieldValue)
		fields[FieldExemptExpires] = orDash(in.ExemptExpires)
	}
	title := in.Title
	if title == "" {
		title = in.Rule
	}
	desc := in.Reason
	if desc == "" {
		desc = string(in.State)
	}
	f := types.AwsSecurityFinding{
		SchemaVersion: aws.String(SchemaVersion),
		Id:            aws.String(FindingID(in.Account, in.Region, in.Rule, in.Resource)),
		ProductArn:    aws.String(ProductARN(in.Partition, in.Region, in.Account)),
		ProductName:   aws.String(ProductName),
		CompanyName:   aws.String(CompanyName),
		GeneratorId:   aws.String(in.Rule),
		AwsAccountId:  aws.String(in.Account),
		Region:        aws.String(in.Region),
		Types:         []string{FindingType},
		CreatedAt:     aws.String(now),
		UpdatedAt:     aws.String(now),
		Severity:      &types.Severity{Label: label, Original: aws.String(string(in.Severity))},
		FindingProviderFields: &types.FindingProviderFields{
			Severity: &types.FindingProviderSeverity{Label: label, Original: aws.String(string(in.Severity))},
			Types:    []string{FindingType},
		},
		Title:         aws.String(truncate(title, maxTitle)),
		Description:   aws.String(truncate(desc, maxDescription)),
		ProductFields: fields,
		Resources:     []types.Resource{ResourceOf(in.Partition, in.Region, in.Account, in.ResourceType, in.Resource)},
		Compliance:    &types.Compliance{Status: compliance},
		Workflow:      &types.Workflow{Status: workflow},
		RecordState:   record,
	}
	if in.Remediation != "" {
		f.Remediation = &types.Remediation{Recommendation: &types.Recommendation{Text: aws.String(truncate(in.Remediation, maxRecommend))}}
	}
	return f
}

// actions summarises what Rampart did or would do: "applied
// ec2:RevokeSecurityGroupIngress on sg-…", one per action.
func actions(as []rule.Action) string {
	if len(as) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(as))
	for _, a := range as {
		o := string(a.Outcome)
		if o == "" {
			o = "planned"
		}
		parts = append(parts, fmt.Sprintf("%s %s on %s", o, a.API, a.Target))
	}
	return strings.Join(parts, "; ")
}

// undoable reports whether an applied action can be undone (rampart undo).
func undoable(as []rule.Action) bool {
	for _, a := range as {
		if a.Outcome == rule.Applied && a.Undo != nil {
			return true
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
