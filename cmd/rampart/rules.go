package main

import (
	"fmt"
	"io"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/catalog/gen"
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
	// ServiceEvents are the other services' EventBridge events that
	// invoke the rule (Health, Trusted Advisor, findings…).
	ServiceEvents []serviceEventJSON `json:"serviceEvents,omitempty"`
}

type serviceEventJSON struct {
	Source     string         `json:"source"`
	DetailType string         `json:"detailType"`
	Detail     map[string]any `json:"detail,omitempty"`
	Region     string         `json:"region,omitempty"`
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
	for _, et := range m.Events {
		e.ServiceEvents = append(e.ServiceEvents, serviceEventJSON{Source: et.Source, DetailType: et.DetailType, Detail: et.Detail, Region: et.Region})
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
func Markdown() string { return gen.CatalogMarkdown(catalog.All()) }
