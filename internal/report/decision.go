// Package report turns decisions into what people and AWS see: the Decision
// record itself (JSON for the CLI and the Lambda response), one structured log
// line per decision, CloudWatch Embedded Metric Format records, SNS
// notifications and AWS Config evaluations.
//
// It formats and delivers; it never decides. Nothing here changes a resource.
package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Decision is the engine's conclusion about one resource for one rule.
type Decision struct {
	Rule         string        `json:"rule"`
	Severity     rule.Severity `json:"severity,omitempty"`
	Resource     string        `json:"resource"`
	ResourceType string        `json:"resourceType,omitempty"`
	Verdict      rule.Verdict  `json:"verdict"`
	Reason       string        `json:"reason"`
	Mode         string        `json:"mode"`
	Actions      []rule.Action `json:"actions"`
	// Error is set when the decision could not be carried out (evaluation or
	// an action failed).
	Error string `json:"error,omitempty"`
	// Exempt is where the exemption that made the decision not_applicable
	// came from: "tag" or "list" (the Source dimension of the Exempt metric).
	Exempt string `json:"exempt,omitempty"`
	// ExemptOwner and ExemptExpires are the exemption's owner and expiry
	// (YYYY-MM-DD), for the Security Hub finding of an exempt decision.
	ExemptOwner   string `json:"exemptOwner,omitempty"`
	ExemptExpires string `json:"exemptExpires,omitempty"`

	// Account and Region are where the resource lives and where Rampart
	// acted (an organization member, another covered region): undo acts
	// there too.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`

	// Where the decision came from.
	Trigger trigger.Kind     `json:"trigger,omitempty"`
	EventID string           `json:"eventId,omitempty"`
	Call    *trigger.APICall `json:"call,omitempty"`
	// OrderingTime is the Config ordering timestamp (capture or notification time).
	OrderingTime time.Time `json:"-"`
	// Quiet is the finding's Quiet: a violation recorded but never notified
	// one by one (a log alarm aggregates it).
	Quiet bool `json:"-"`
}

// Failed reports whether any action failed or the evaluation errored.
func (d *Decision) Failed() bool {
	if d.Error != "" {
		return true
	}
	for _, a := range d.Actions {
		if a.Outcome == rule.Failed {
			return true
		}
	}
	return false
}

// Did summarises what Rampart did, e.g. "applied ec2:RevokeSecurityGroupIngress".
func (d *Decision) Did() string {
	if len(d.Actions) == 0 {
		if d.Verdict == rule.Violation {
			return "nothing (no automatic fix)"
		}
		return "nothing"
	}
	parts := make([]string, 0, len(d.Actions))
	for _, a := range d.Actions {
		parts = append(parts, fmt.Sprintf("%s %s", a.Outcome, a.API))
	}
	return strings.Join(parts, ", ")
}

// Count is what happened to each outcome across decisions.
type Count struct {
	Decisions, Violations, Remediated, Failed, Exempt, Ignored int
}

// Tally counts decisions for metrics and summaries.
func Tally(ds []Decision) Count {
	var c Count
	for i := range ds {
		d := &ds[i]
		c.Decisions++
		switch d.Verdict {
		case rule.Violation:
			c.Violations++
		case rule.Ignored:
			c.Ignored++
		case rule.NotApplicable:
			if d.Exempt != "" {
				c.Exempt++
			}
		default: // compliant: counted among the decisions only
		}
		if d.Failed() {
			c.Failed++
		}
		for _, a := range d.Actions {
			if a.Outcome == rule.Applied && a.API != rule.AlertAPI {
				c.Remediated++
				break
			}
		}
	}
	return c
}
