package report

import (
	"encoding/json"
	"io"
	"slices"
	"time"
)

// Namespace is the CloudWatch namespace of Rampart's metrics.
const Namespace = "Rampart"

// metricNames are emitted for every rule touched by an invocation.
var metricNames = []string{"Decisions", "Violations", "Remediated", "Failed", "Exempt"}

// WriteMetrics writes one CloudWatch Embedded Metric Format record per rule
// (dimension Rule) to w, which in Lambda is the function's log stream.
// There is no EMF library for Go served here; the format is small enough
// to write directly (see testdata/emf.golden).
func WriteMetrics(w io.Writer, now time.Time, ds []Decision) error {
	byRule := map[string][]Decision{}
	for _, d := range ds {
		if d.Rule != "" {
			byRule[d.Rule] = append(byRule[d.Rule], d)
		}
	}
	rules := make([]string, 0, len(byRule))
	for r := range byRule {
		rules = append(rules, r)
	}
	slices.Sort(rules)
	defs := make([]map[string]string, 0, len(metricNames))
	for _, n := range metricNames {
		defs = append(defs, map[string]string{"Name": n, "Unit": "Count"})
	}
	for _, r := range rules {
		c := Tally(byRule[r])
		rec := map[string]any{
			"_aws": map[string]any{
				"Timestamp": now.UnixMilli(),
				"CloudWatchMetrics": []any{map[string]any{
					"Namespace":  Namespace,
					"Dimensions": [][]string{{"Rule"}},
					"Metrics":    defs,
				}},
			},
			"Rule":       r,
			"Decisions":  c.Decisions,
			"Violations": c.Violations,
			"Remediated": c.Remediated,
			"Failed":     c.Failed,
			"Exempt":     c.Exempt,
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}
