package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/demo"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// event is one file under events/.
type event struct {
	name string // path under events/
	raw  []byte
	trig *trigger.Trigger // nil when it does not decode
}

func loadEvents(t *testing.T, dirs ...string) []event {
	t.Helper()
	root, err := lambdatest.Root()
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(root, "events", dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := trigger.Decode(raw)
			out = append(out, event{name: dir + "/" + filepath.Base(f), raw: raw, trig: tr})
		}
	}
	return out
}

// handles reports whether one of the function's rules takes the trigger.
func handles(function string, t *trigger.Trigger) bool {
	for _, r := range functionRules(function) {
		m := r.Meta()
		switch t.Kind {
		case trigger.KindAPICall, trigger.KindSignIn:
			detail := trigger.DetailAPICall
			if t.Kind == trigger.KindSignIn {
				detail = trigger.DetailSignIn
			}
			if m.MatchesCall(detail, t.Call) {
				return true
			}
		case trigger.KindConfig:
			if m.Config != nil && (m.ConfigRuleName() == t.Config.RuleName || m.ID == t.Config.RuleName) {
				return true
			}
		case trigger.KindSchedule:
			if b, err := rule.BindWith(r, nil); err == nil && b.Sweep != nil && m.Schedule != "" {
				return true
			}
		case trigger.KindEvent:
			if m.MatchesEvent(t.Event) {
				return true
			}
		case trigger.KindSweep: // organization fan-out: e2e/organization_test.go
		}
	}
	return false
}

// testMode gives a Config invocation the resultToken "TESTMODE": moto 5.2.1
// implements PutEvaluations for test mode only and answers 500 otherwise,
// where AWS accepts the token Config sent.
func testMode(e event) []byte {
	if e.trig == nil || e.trig.Kind != trigger.KindConfig || e.trig.Config.ResultToken == trigger.TestModeToken {
		return e.raw
	}
	var m map[string]any
	if json.Unmarshal(e.raw, &m) != nil {
		return e.raw
	}
	m["resultToken"] = trigger.TestModeToken
	b, err := json.Marshal(m)
	if err != nil {
		return e.raw
	}
	return b
}

func functions(t *testing.T) []string {
	t.Helper()
	root, err := lambdatest.Root()
	if err != nil {
		t.Fatal(err)
	}
	names, err := lambdatest.FunctionNames(root)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Bad input ends the invocation cleanly ("rejected", no retry) before any
// AWS call; input that decodes but that no rule of the function takes is
// ignored. Neither changes anything.
func TestBadInputIsRejectedWithoutAnAWSCall(t *testing.T) {
	mototest.Shared(t)
	bad := loadEvents(t, "invalid")
	bad = append(bad, event{name: "(empty object)", raw: []byte(`{}`)}, event{name: "(JSON null)", raw: []byte(`null`)})
	for _, e := range loadEvents(t, "config") {
		if strings.Contains(e.name, "bad-rule-parameters") {
			bad = append(bad, e)
		}
	}
	// Lambda's Invoke API refuses a payload that is not JSON
	// (InvalidRequestContentException) before any function sees it, and
	// EventBridge and Config send JSON only; the RIE passes it on, and
	// aws-lambda-go fails it before the handler. Such files test the
	// decoder (internal/trigger), not the function.
	bad = slices.DeleteFunc(bad, func(e event) bool { return !json.Valid(e.raw) })
	for _, fn := range functions(t) {
		t.Run(fn, func(t *testing.T) {
			mototest.Session(t)
			f := deploy(t, fn, lambdatest.Deployment{Mode: engine.Enforce})
			for _, e := range bad {
				var rejected string
				var n int
				calls := record(t, func() {
					inv, r := invoke(t, f, e.raw)
					if inv.FunctionError {
						t.Errorf("%s: function error %s: %s", e.name, inv.ErrorType, inv.ErrorMessage)
						return
					}
					rejected, n = r.Rejected, len(r.Decisions)
					for _, d := range r.Decisions {
						if d.Verdict != rule.Ignored {
							t.Errorf("%s: decision %s %s: %s", e.name, d.Rule, d.Verdict, d.Reason)
						}
					}
				})
				if rejected != "" && n != 0 {
					t.Errorf("%s: rejected with %d decisions", e.name, n)
				}
				if _, err := trigger.Decode(e.raw); err != nil {
					if rejected == "" {
						t.Errorf("%s does not decode (%v) but was not rejected", e.name, err)
					}
					if len(calls) > 0 {
						t.Errorf("%s: undecodable input made AWS calls %v", e.name, calls)
					}
				}
				if c := lambdatest.Mutating(calls); len(c) > 0 {
					t.Errorf("%s: bad input made mutating calls %v", e.name, c)
				}
			}
		})
	}
}

// A deployment with a bad setting fails its cold start: Lambda reports the
// invocation as failed instead of enforcing something nobody asked for.
func TestMisconfiguredFunctionFailsItsColdStart(t *testing.T) {
	mototest.Shared(t)
	for _, fn := range functions(t) {
		t.Run(fn, func(t *testing.T) {
			f := deploy(t, fn, lambdatest.Deployment{}, map[string]string{engine.EnvMode: "enforce-please"})
			inv, _ := invoke(t, f, []byte(`{}`))
			if !inv.FunctionError {
				t.Fatalf("a bad %s started: %s", engine.EnvMode, inv.Body)
			}
			if !f.WaitLogs(engine.EnvMode, 5*time.Second) {
				t.Fatalf("the logs do not say what is wrong:\n%s", f.Logs())
			}
		})
	}
}

// Every real-shaped event a function takes, replayed in report mode against
// an empty account (a late event about a resource that is gone), ends the
// invocation cleanly and changes nothing.
// motoGaps are the samples whose live judgement reads a service moto 5.2.1
// does not serve (sample → the failing operation): the function must fail
// on that read, as against an unreachable AWS, and make no write. The
// rule's own tests cover them with a fake of that service only.
var motoGaps = map[string]string{
	"cloudtrail/access-analyzer-delete-analyzer.json": "AccessAnalyzer: ListAnalyzers",
}

func TestEveryEventAgainstAnEmptyAccount(t *testing.T) {
	mototest.Shared(t)
	events := loadEvents(t, "cloudtrail", "signin", "raw", "config", "schedule", "service")
	for _, fn := range functions(t) {
		t.Run(fn, func(t *testing.T) {
			var mine []event
			for _, e := range events {
				if e.trig != nil && handles(fn, e.trig) {
					mine = append(mine, e)
				}
			}
			if len(mine) == 0 {
				t.Skipf("no file under events/ triggers a rule of %s", fn)
			}
			mototest.Session(t)
			f := deploy(t, fn, lambdatest.Deployment{Mode: engine.Report})
			calls := record(t, func() {
				for _, e := range mine {
					inv, r := invoke(t, f, testMode(e))
					t.Logf("%s: %v", e.name, inv.Duration.Round(10*time.Microsecond))
					if gap, ok := motoGaps[e.name]; ok {
						if !inv.FunctionError || !strings.Contains(inv.ErrorMessage, gap) {
							t.Errorf("%s: want the function to fail reading %s (moto does not serve it), got %+v", e.name, gap, inv)
						}
						continue
					}
					if inv.FunctionError {
						t.Errorf("%s: function error %s: %s", e.name, inv.ErrorType, inv.ErrorMessage)
						continue
					}
					if r.Rejected != "" {
						// A clean end all the same; seen when a sample Config
						// invocation's ruleParameters are not the rule's.
						t.Logf("%s: rejected: %s", e.name, r.Rejected)
					}
				}
			})
			if c := changes(calls); len(c) > 0 {
				t.Errorf("report mode made mutating calls %v", c)
			}
		})
	}
}

// Each function's cold start (the first invoke: process start, configuration,
// AWS clients, and the handler) and warm median under the RIE. A function
// with a demo scenario is measured on it in enforce mode: the cold invoke
// remediates, the warm ones are duplicate deliveries. Others are measured on
// their first event from events/ against an empty account, in report mode.
func TestColdStartAndWarmMedian(t *testing.T) {
	mototest.Shared(t)
	const warm = 20
	events := loadEvents(t, "cloudtrail", "signin", "config", "schedule")
	_, scenarios := demo.ByFunction(demo.Scenarios())
	for _, fn := range functions(t) {
		t.Run(fn, func(t *testing.T) {
			var f *lambdatest.Function
			var payload []byte
			var what string
			if scs := scenarios[fn]; len(scs) > 0 {
				s := seed(t, scs[0])
				f = deploy(t, fn, s.deployment(engine.Enforce))
				payload, what = s.payloads[0], scs[0].Events[0]+" on the seeded "+scs[0].Name+", enforce"
			} else {
				i := slices.IndexFunc(events, func(e event) bool { return e.trig != nil && handles(fn, e.trig) && motoGaps[e.name] == "" })
				if i < 0 {
					t.Skipf("no event for %s", fn)
				}
				mototest.Session(t)
				payload, what = testMode(events[i]), events[i].name+" on an empty account, report"
				// moto builds a service's backend on its first request after
				// a reset (EC2: ~1 s); a throwaway invoke keeps that out of
				// the function's cold start.
				warmup := deploy(t, fn, lambdatest.Deployment{Mode: engine.Report})
				invoke(t, warmup, payload)
				warmup.Stop()
				f = deploy(t, fn, lambdatest.Deployment{Mode: engine.Report})
			}
			for range warm + 1 {
				if inv, _ := invoke(t, f, payload); inv.FunctionError {
					t.Fatalf("function error %s: %s", inv.ErrorType, inv.ErrorMessage)
				}
			}
			t.Logf("%-13s cold start %8.2f ms, warm median %6.2f ms (%d warm; %s)", fn,
				float64(f.Cold())/1e6, float64(f.WarmMedian())/1e6, warm, what)
			if f.Cold() > 10*time.Second || f.WarmMedian() > 2*time.Second {
				t.Errorf("too slow: cold start %v, warm median %v", f.Cold(), f.WarmMedian())
			}
		})
	}
}

// Every function under functions/ carries rules of the catalog, and every
// rule's function exists: the end-to-end tests above then cover them all.
func TestFunctionsMatchTheCatalog(t *testing.T) {
	names := functions(t)
	for _, fn := range names {
		if len(functionRules(fn)) == 0 {
			t.Errorf("functions/%s carries no rule of the catalog", fn)
		}
	}
	for fn := range catalogFunctions() {
		if !slices.Contains(names, fn) {
			t.Errorf("the catalog names function %q, which functions/ lacks", fn)
		}
	}
}

func catalogFunctions() map[string]bool {
	out := map[string]bool{}
	for _, r := range catalog.All() {
		out[r.Meta().Function] = true
	}
	return out
}
