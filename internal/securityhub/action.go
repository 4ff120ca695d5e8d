package securityhub

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rampart-aws/rampart/internal/trigger"
)

// The custom action: "Remediate with Rampart" in the Security Hub console
// sends the selected findings to EventBridge as one "Security Hub Findings -
// Custom Action" event naming the action target's ARN in its resources
// (events/service/securityhub-custom-action.json).
const (
	// EventSource and DetailCustomAction select the event.
	EventSource        = "aws.securityhub"
	DetailCustomAction = "Security Hub Findings - Custom Action"
	// ActionID is the action target's ID (at most 20 alphanumeric
	// characters, unique per account and region).
	ActionID = "RampartRemediate"
	// ActionName is what the console shows (fewer than 20 characters, so
	// not "Remediate with Rampart").
	ActionName = "Rampart: remediate"
	// ActionDescription describes the action in the console.
	ActionDescription = "Runs the Rampart rule that covers the finding's control on its resource only, in enforce mode, and reports what it did."
)

// ActionTargetARN is the ARN of the deployment's action target in one
// account and region.
func ActionTargetARN(partition, region, account string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:action/custom/%s", partition, region, account, ActionID)
}

// ActionFinding is one finding a custom action sent: what the engine needs
// to pick the rule and the resource.
type ActionFinding struct {
	ID         string
	ProductARN string
	// Account and Region are where the finding's resource lives.
	Account, Region string
	// ControlID is the Security Hub control (Compliance.SecurityControlId,
	// else ProductFields "ControlId"); empty for other products' findings.
	ControlID string
	// Rule is the Rampart rule of one of Rampart's own findings
	// (ProductFields rampart/Rule); empty otherwise.
	Rule string
	// Resources are the finding's resources (ASFF type and ID, with the
	// region when the finding states one).
	Resources []ActionResource
	// Own is the exact resource of a Rampart finding (rampart/ResourceId,
	// rampart/ResourceType), which Resources only approximate.
	OwnID, OwnType string
}

// ActionResource is one resource of a finding.
type ActionResource struct {
	Type, ID, Region string
}

// wire is the part of an ASFF finding read here.
type wireFinding struct {
	ID            string            `json:"Id"`
	ProductArn    string            `json:"ProductArn"`
	GeneratorID   string            `json:"GeneratorId"`
	AwsAccountID  string            `json:"AwsAccountId"`
	Region        string            `json:"Region"`
	ProductFields map[string]string `json:"ProductFields"`
	Compliance    *struct {
		SecurityControlID string `json:"SecurityControlId"`
	} `json:"Compliance"`
	Resources []struct {
		Type   string `json:"Type"`
		ID     string `json:"Id"`
		Region string `json:"Region"`
	} `json:"Resources"`
}

type wireDetail struct {
	ActionName string            `json:"actionName"`
	Findings   []json.RawMessage `json:"findings"`
}

// IsCustomAction reports whether ev is a Security Hub custom action.
func IsCustomAction(ev *trigger.Event) bool {
	return ev.Source == EventSource && ev.DetailType == DetailCustomAction
}

// DecodeAction reads the findings of a custom action event. A malformed
// detail, or one without findings, is an error wrapping trigger.ErrInput.
func DecodeAction(detail json.RawMessage) ([]ActionFinding, error) {
	var d wireDetail
	if err := json.Unmarshal(detail, &d); err != nil {
		return nil, fmt.Errorf("%w: Security Hub custom action detail: %w", trigger.ErrInput, err)
	}
	if len(d.Findings) == 0 {
		return nil, fmt.Errorf("%w: Security Hub custom action %q carries no findings", trigger.ErrInput, d.ActionName)
	}
	out := make([]ActionFinding, 0, len(d.Findings))
	for i, raw := range d.Findings {
		var w wireFinding
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("%w: Security Hub custom action finding %d: %w", trigger.ErrInput, i, err)
		}
		f := ActionFinding{ID: w.ID, ProductARN: w.ProductArn, Account: w.AwsAccountID, Region: w.Region,
			ControlID: strings.TrimSpace(w.ProductFields["ControlId"])}
		if w.Compliance != nil && w.Compliance.SecurityControlID != "" {
			f.ControlID = strings.TrimSpace(w.Compliance.SecurityControlID)
		}
		if r := w.ProductFields[FieldRule]; r != "" && r == w.GeneratorID {
			f.Rule, f.OwnID, f.OwnType = r, w.ProductFields[FieldResourceID], w.ProductFields[FieldResourceType]
		}
		for _, r := range w.Resources {
			f.Resources = append(f.Resources, ActionResource{Type: r.Type, ID: r.ID, Region: r.Region})
		}
		if f.Region == "" && len(f.Resources) > 0 {
			f.Region = f.Resources[0].Region
		}
		out = append(out, f)
	}
	return out, nil
}

// IsOwn reports whether the finding is one of Rampart's own in the
// account and region's default product.
func (f *ActionFinding) IsOwn(partition string) bool {
	return f.Rule != "" && f.ProductARN == ProductARN(partition, f.Region, f.Account)
}
