package catalog

import (
	"slices"
	"testing"

	"github.com/rampart-aws/rampart/internal/rules/configtampering"
)

// config-tampering cannot import the catalog (the catalog imports it), so it
// keeps its own list of the resource types Rampart's Config rules judge: a
// recorder that stops recording one of them is narrowed. This test keeps
// the list complete (a new Config rule fails here until its types are
// added) and exact (no stale type).
func TestConfigTamperingJudgesEveryConfigRuleType(t *testing.T) {
	var types []string
	for _, r := range All() {
		if c := r.Meta().Config; c != nil {
			for _, typ := range c.ResourceTypes {
				if !slices.Contains(types, typ) {
					types = append(types, typ)
				}
			}
		}
	}
	slices.Sort(types)
	if !slices.Equal(types, configtampering.JudgedTypes) {
		t.Fatalf("configtampering.JudgedTypes = %v\nthe catalog's Config rules judge %v", configtampering.JudgedTypes, types)
	}
}
