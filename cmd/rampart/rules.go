package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/rule"
)

// ruleJSON is one catalog entry as `rampart rules --json` prints it: the
// contract other tools rely on.
type ruleJSON struct {
	ID           string        `json:"id"`
	Title        string        `json:"title"`
	Severity     rule.Severity `json:"severity"`
	ResourceType string        `json:"resourceType"`
	Function     string        `json:"function"`
	// CloudTrail is the rule's first CloudTrail trigger (null when it has
	// none); CloudTrailAll lists every one, for rules that watch several
	// services.
	CloudTrail     *cloudTrailJSON   `json:"cloudtrail"`
	ConfigRuleName *string           `json:"configRuleName"`
	Parameters     map[string]string `json:"parameters"`
	// Beyond the contract: the rest of the metadata.
	Rationale       string           `json:"rationale"`
	Remediation     string           `json:"remediation"`
	ConfigTypes     []string         `json:"configResourceTypes,omitempty"`
	ConfigFrequency string           `json:"configFrequency,omitempty"`
	Schedule        string           `json:"schedule,omitempty"`
	ReadActions     []string         `json:"readActions"`
	WriteActions    []string         `json:"writeActions"`
	CloudTrailAll   []cloudTrailJSON `json:"cloudtrailTriggers,omitempty"`
}

type cloudTrailJSON struct {
	Source     string   `json:"source"`
	Events     []string `json:"events"`
	DetailType string   `json:"detailType"`
	Region     string   `json:"region,omitempty"`
}

func entry(m *rule.Meta) ruleJSON {
	e := ruleJSON{ID: m.ID, Title: m.Title, Severity: m.Severity, ResourceType: m.ResourceType, Function: m.Function,
		Parameters: map[string]string{}, Rationale: m.Rationale, Remediation: m.Remediation, Schedule: m.Schedule,
		ReadActions: m.ReadActions, WriteActions: m.WriteActions}
	for _, ct := range m.CloudTrail {
		e.CloudTrailAll = append(e.CloudTrailAll, cloudTrailJSON{Source: ct.Source, Events: ct.Events,
			DetailType: ct.EventBridgeDetailType(), Region: ct.Region})
	}
	if len(e.CloudTrailAll) > 0 {
		e.CloudTrail = &e.CloudTrailAll[0]
	}
	if c := m.Config; c != nil {
		name := m.ConfigRuleName()
		e.ConfigRuleName, e.ConfigTypes, e.ConfigFrequency = &name, c.ResourceTypes, c.Frequency
	}
	for _, p := range m.Params {
		e.Parameters[p.Name] = p.Default
	}
	return e
}

func rules(w io.Writer, asJSON, markdown bool) int {
	all := catalog.All()
	switch {
	case asJSON:
		out := make([]ruleJSON, 0, len(all))
		for _, r := range all {
			out = append(out, entry(r.Meta()))
		}
		writeJSON(w, out)
	case markdown:
		io.WriteString(w, Markdown())
	default:
		for _, r := range all {
			m := r.Meta()
			fmt.Fprintf(w, "%-28s %-9s %-26s %-14s %s\n", m.ID, m.Severity, m.ResourceType, m.Function, m.Title)
		}
	}
	return exitOK
}

// Markdown is the README's rule catalog, generated from the metadata.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| Rule | Severity | Resource | Triggers | Parameters (default) | What Rampart does |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range catalog.All() {
		m := r.Meta()
		var trig []string
		for _, ct := range m.CloudTrail {
			t := strings.TrimSuffix(ct.Source, ".amazonaws.com") + ": " + strings.Join(ct.Events, ", ")
			if ct.Region != "" {
				t += " (" + ct.Region + ")"
			}
			trig = append(trig, t)
		}
		if c := m.Config; c != nil {
			t := "Config `" + m.ConfigRuleName() + "`"
			var how []string
			if len(c.ResourceTypes) > 0 {
				how = append(how, "on change")
			}
			if c.Frequency != "" {
				how = append(how, c.Frequency)
			}
			trig = append(trig, t+" ("+strings.Join(how, ", ")+")")
		}
		if m.Schedule != "" {
			trig = append(trig, "schedule "+m.Schedule)
		}
		var params []string
		for _, p := range m.Params {
			params = append(params, fmt.Sprintf("`%s` (%s)", p.Name, orNone(p.Default)))
		}
		fmt.Fprintf(&b, "| **%s**<br>%s | %s | `%s` | %s | %s | %s |\n", m.ID, m.Title, m.Severity, m.ResourceType,
			strings.Join(trig, "<br>"), orNone(strings.Join(params, "<br>")), m.Remediation)
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
