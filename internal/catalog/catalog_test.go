package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

var (
	kebab     = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	iamAction = regexp.MustCompile(`^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$`)
	root      = filepath.Join("..", "..")
)

func pkgPath(r rule.Rule) string { return rule.Package(r) }

func pkgDir(r rule.Rule) string {
	return filepath.Join(root, strings.TrimPrefix(pkgPath(r), "github.com/rampart-aws/rampart/"))
}

// TestEveryRuleIsComplete is the registry's invariant, in the spirit of
// Cloud Custodian's: every rule declares what the infrastructure and the
// catalog need and has tests and fixtures. (That each rule's function
// carries it is package gen's test: functions/*/main.go are generated.)
func TestEveryRuleIsComplete(t *testing.T) {
	all := All()
	if len(all) == 0 {
		t.Fatal("empty catalog")
	}
	seen := map[string]bool{}
	for _, r := range all {
		m := r.Meta()
		t.Run(m.ID, func(t *testing.T) {
			if !kebab.MatchString(m.ID) || seen[m.ID] {
				t.Errorf("ID %q is not kebab-case or is registered twice", m.ID)
			}
			seen[m.ID] = true
			if m.Title == "" || m.Rationale == "" || m.Remediation == "" || m.ResourceType == "" || m.Function == "" {
				t.Errorf("incomplete metadata: %+v", m)
			}
			if !slices.Contains([]rule.Severity{rule.Critical, rule.High, rule.Medium, rule.Low}, m.Severity) {
				t.Errorf("severity %q", m.Severity)
			}
			if len(m.CloudTrail) == 0 && m.Config == nil && m.Schedule == "" && len(m.Events) == 0 {
				t.Error("no trigger: nothing would ever invoke the rule")
			}
			for _, ct := range m.CloudTrail {
				if ct.Source == "" || len(ct.Events) == 0 {
					t.Errorf("CloudTrail trigger without source or events: %+v", ct)
				}
			}
			b, err := rule.BindWith(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, et := range m.Events {
				if et.Source == "" || et.DetailType == "" {
					t.Errorf("event trigger without source or detail-type: %+v", et)
				}
				if err := rule.CheckPattern(et.Detail); err != nil {
					t.Errorf("event trigger %s %q: %v", et.Source, et.DetailType, err)
				}
				if b.OnEvent == nil {
					t.Errorf("declares %s %q events but names no targets for them (OnEvent)", et.Source, et.DetailType)
				}
				if len(serviceFixtures(t, et)) == 0 {
					t.Errorf("no sample event under events/service/ that %s %q (with its detail pattern) selects", et.Source, et.DetailType)
				}
			}
			if (m.Schedule != "" || (m.Config != nil && m.Config.Frequency != "")) && b.Sweep == nil {
				t.Error("a periodic rule must sweep")
			}
			if len(m.ReadActions)+len(m.WriteActions) == 0 {
				t.Error("declares no IAM actions")
			}
			for _, a := range append(slices.Clone(m.ReadActions), m.WriteActions...) {
				if !iamAction.MatchString(a) {
					t.Errorf("IAM action %q is not service:Action (wildcards are not allowed)", a)
				}
			}
			if slices.Contains(m.WriteActions, "iam:PassRole") {
				t.Error("iam:PassRole belongs in PassRoles (scoped to the roles named by parameters), not WriteActions")
			}
			for _, name := range m.PassRoles {
				if !slices.ContainsFunc(m.Params, func(p rule.Param) bool { return p.Name == name }) {
					t.Errorf("PassRoles names %q, which is not a parameter", name)
				}
			}
			if err := m.CheckParamWrites(); err != nil {
				t.Error(err)
			}
			if _, err := m.Resolve(nil); err != nil {
				t.Errorf("defaults do not validate: %v", err)
			}
			tests, _ := filepath.Glob(filepath.Join(pkgDir(r), "*_test.go"))
			if len(tests) == 0 {
				t.Errorf("%s has no tests", pkgDir(r))
			}
			for _, ct := range m.CloudTrail {
				for _, ev := range ct.Events {
					if len(fixtures(t, ct.Source, ev)) == 0 {
						t.Errorf("no sample event under events/ for %s %s", ct.Source, ev)
					}
				}
			}
		})
	}
}

// fixtures finds the sample API calls for one event.
func fixtures(t *testing.T, source, event string) []*trigger.APICall {
	t.Helper()
	var out []*trigger.APICall
	for _, dir := range []string{"cloudtrail", "signin", "raw"} {
		files, _ := filepath.Glob(filepath.Join(root, "events", dir, "*.json"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := trigger.Decode(raw)
			if err != nil || tr.Call == nil {
				continue
			}
			if tr.Call.EventSource == source && tr.Call.EventName == event {
				out = append(out, tr.Call)
			}
		}
	}
	return out
}

// serviceFixtures finds the sample service events a trigger selects.
func serviceFixtures(t *testing.T, et rule.EventTrigger) []*trigger.Event {
	t.Helper()
	var out []*trigger.Event
	files, _ := filepath.Glob(filepath.Join(root, "events", "service", "*.json"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := trigger.Decode(raw)
		if err != nil || tr.Event == nil {
			continue
		}
		if et.Matches(tr.Event) {
			out = append(out, tr.Event)
		}
	}
	return out
}

// TestPlannedActionsAreDeclared: every API an offline plan names (for every
// sample event) is one the rule declares, so the function's IAM role allows it.
func TestPlannedActionsAreDeclared(t *testing.T) {
	offline := awsclient.NewOffline("us-east-1")
	for _, r := range All() {
		m := r.Meta()
		b, err := rule.BindWith(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		env := rule.Env{Session: offline}
		for _, ct := range m.CloudTrail {
			for _, ev := range ct.Events {
				for _, call := range fixtures(t, ct.Source, ev) {
					if call.Failed() {
						continue
					}
					if b.Targets == nil {
						t.Fatalf("%s watches %s but names no targets", m.ID, ev)
					}
					targets, err := b.Targets(call)
					if errors.Is(err, trigger.ErrInput) {
						continue
					}
					if err != nil {
						t.Fatalf("%s %s: %v", m.ID, ev, err)
					}
					for _, tg := range targets {
						tg.Call = call
						f, err := b.Evaluate(context.Background(), env, tg)
						if err != nil {
							t.Fatalf("%s %s: offline evaluate: %v", m.ID, ev, err)
						}
						for _, a := range f.Actions {
							if a.API != rule.AlertAPI && !slices.Contains(m.WriteActions, a.API) {
								t.Errorf("%s plans %s for %s but does not declare it", m.ID, a.API, ev)
							}
						}
					}
				}
			}
		}
		for _, et := range m.Events {
			for _, ev := range serviceFixtures(t, et) {
				if b.OnEvent == nil {
					t.Fatalf("%s watches %s but names no targets", m.ID, et.DetailType)
				}
				targets, err := b.OnEvent(ev)
				if errors.Is(err, trigger.ErrInput) {
					continue
				}
				if err != nil {
					t.Fatalf("%s %s: %v", m.ID, et.DetailType, err)
				}
				for _, tg := range targets {
					tg.Event = ev
					f, err := b.Evaluate(context.Background(), env, tg)
					if err != nil {
						t.Fatalf("%s %s: offline evaluate: %v", m.ID, et.DetailType, err)
					}
					for _, a := range f.Actions {
						if a.API != rule.AlertAPI && !slices.Contains(m.WriteActions, a.API) {
							t.Errorf("%s plans %s for %s but does not declare it", m.ID, a.API, et.DetailType)
						}
					}
				}
			}
		}
	}
}
