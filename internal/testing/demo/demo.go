// Package demo is the script of `make demo` and of the end-to-end tests: per
// rule, scenarios that seed an insecure resource (next to the legitimate
// configuration that must survive) into an emulated account, name the
// real-shaped events from events/ that report it, read the resource's state
// back, and say what that state must be once Rampart has acted.
//
// Run replays the scenarios through the real Lambda binaries under the
// Lambda Runtime Interface Emulator against moto and prints what happened;
// the e2e tests assert on the same scenarios in every mode.
//
// It is demo and test support: production code never imports it. A rule's
// scenarios live in one file here, listed once in Scenarios.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
)

// Scenario is one insecure resource, the events that report it, and what
// Rampart must make of it.
type Scenario struct {
	// Rule is the ID of the rule that judges the resource.
	Rule string
	// Name says what is wrong in a few words, e.g. "world-open SSH"; it names
	// the scenario's tests and is unique.
	Name string
	// Events are files under events/, replayed in order. Their invented IDs
	// are rewritten to the seeded ones (Fixture.Replace).
	Events []string
	// Seed creates the resource in its insecure state, as if the events'
	// calls had just been made, plus the legitimate configuration around it.
	Seed func(ctx context.Context, s *awsclient.Session) (Fixture, error)
	// State reads the resource back as short lines: "key: value" lines
	// (compared by key) or set members ("tcp 22 from 0.0.0.0/0"). Nil for a
	// rule that only alerts (a console sign-in changes no resource): the
	// scenario then shows its SNS notification.
	State func(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error)
	// Want is State once Rampart has acted in enforce mode.
	Want []string
	// Params are the rule parameters the scenario's deployment sets
	// (RAMPART_PARAMS), when the defaults do not fit.
	Params map[string]string
	// IAMGap, when set, says why moto's IAM enforcement cannot judge this
	// scenario; the IAM end-to-end tests then skip it.
	IAMGap string
}

// Fixture is what Seed made.
type Fixture struct {
	// ID is the resource's ID, for State; Label is what the demo shows.
	ID, Label string
	// Replace maps invented IDs in the scenario's event files to the seeded
	// ones; every key must occur in at least one event file.
	Replace map[string]string
	// Names are friendly names of IDs State may print (referenced groups).
	Names map[string]string
}

// Scenarios is every scenario, one list per rule family.
func Scenarios() []Scenario {
	return slices.Concat(
		securityGroupScenarios,
		cloudTrailScenarios,
		cisScenarios,
		ec2Scenarios,
		configScenarios,
		s3Scenarios,
		signinScenarios,
		iamScenarios,
	)
}

// AlertOnly reports whether the scenario's rule only alerts: there is no
// state to read back, only the notification.
func (sc Scenario) AlertOnly() bool { return sc.State == nil }

// ReadState is State, or nothing for an alert-only scenario.
func (sc Scenario) ReadState(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
	if sc.State == nil {
		return nil, nil
	}
	return sc.State(ctx, s, f)
}

// Function is the function (directory under functions/) that carries the
// scenario's rule, or "" when the rule is not in the catalog.
func (sc Scenario) Function() string {
	if r := RuleByID(sc.Rule); r != nil {
		return r.Meta().Function
	}
	return ""
}

// RuleByID is the catalog's rule of that ID, or nil.
func RuleByID(id string) rule.Rule {
	for _, r := range catalog.All() {
		if r.Meta().ID == id {
			return r
		}
	}
	return nil
}

// ByFunction groups scenarios by function, keeping their order; functions
// are sorted.
func ByFunction(scs []Scenario) (names []string, groups map[string][]Scenario) {
	groups = map[string][]Scenario{}
	for _, sc := range scs {
		fn := sc.Function()
		if _, ok := groups[fn]; !ok {
			names = append(names, fn)
		}
		groups[fn] = append(groups[fn], sc)
	}
	sort.Strings(names)
	return names, groups
}

// Params merges the scenarios' rule parameters into a deployment's
// RAMPART_PARAMS (rule ID → name → value).
func Params(scs []Scenario) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, sc := range scs {
		for k, v := range sc.Params {
			if out[sc.Rule] == nil {
				out[sc.Rule] = map[string]string{}
			}
			out[sc.Rule][k] = v
		}
	}
	return out
}

// Payloads reads the scenario's event files and rewrites the invented IDs.
// An ID that no file contains is an error: the event files changed and the
// scenario must follow.
func (sc Scenario) Payloads(f Fixture) ([][]byte, error) {
	var out [][]byte
	seen := map[string]bool{}
	for _, name := range sc.Events {
		b, err := readEvent(name)
		if err != nil {
			return nil, fmt.Errorf("scenario %q: %w", sc.Name, err)
		}
		b, found := Rewrite(b, f.Replace)
		for _, k := range found {
			seen[k] = true
		}
		out = append(out, b)
	}
	for k := range f.Replace {
		if !seen[k] {
			return nil, fmt.Errorf("scenario %q: no event file contains %q any more", sc.Name, k)
		}
	}
	return out, nil
}

// readEvent reads a file under the repository's events/.
func readEvent(name string) ([]byte, error) {
	root, err := lambdatest.Root()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(root, "events", filepath.FromSlash(name)))
}

// Rewrite replaces every occurrence of each key of replace in event by its
// value (longest keys first, so an ARN is rewritten before a name inside
// it), and returns the keys it found.
func Rewrite(event []byte, replace map[string]string) ([]byte, []string) {
	keys := make([]string, 0, len(replace))
	for k := range replace {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	// Replace through placeholders so that a new ID containing another key
	// is not rewritten twice.
	var found []string
	out := event
	for i, k := range keys {
		if bytes.Contains(out, []byte(k)) {
			found = append(found, k)
			out = bytes.ReplaceAll(out, []byte(k), placeholder(i))
		}
	}
	for i, k := range keys {
		out = bytes.ReplaceAll(out, placeholder(i), []byte(replace[k]))
	}
	return out, found
}

func placeholder(i int) []byte { return fmt.Appendf(nil, "\x00%d\x00", i) }
