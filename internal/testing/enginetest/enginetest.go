// Package enginetest is the plumbing that rule packages' tests share: it
// builds a quiet engine around the rules under test, runs payloads through
// it, records what it sent to AWS Config, and builds those payloads from the
// real-shaped samples under events/.
//
// It is test support only: production code never imports it. It holds no
// assertion about any rule (each package's tests keep their own) and touches
// AWS only through the engine it builds; moto itself is internal/testing/mototest's.
package enginetest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Evaluations wraps the engine's real Evaluator (report.ConfigService, which
// calls moto) and keeps what the engine sent to AWS Config.
type Evaluations struct {
	next report.Evaluator
	// Calls counts the PutEvaluations calls the engine made.
	Calls int
	// Tokens are their result tokens, in order.
	Tokens []string
	// Evals are all the evaluations sent.
	Evals []cfgtypes.Evaluation
}

// PutEvaluations implements report.Evaluator: it records, then forwards.
func (r *Evaluations) PutEvaluations(ctx context.Context, token string, evals []cfgtypes.Evaluation) error {
	r.Calls++
	r.Tokens = append(r.Tokens, token)
	r.Evals = append(r.Evals, evals...)
	return r.next.PutEvaluations(ctx, token, evals)
}

// New builds an engine for rules with cfg on session s, failing the test if
// it cannot. The engine is quiet (its decision log and metrics are
// discarded) and its Config evaluations are recorded in the Evaluations
// returned. An offline session has no Evaluator: nothing is recorded then.
func New(t testing.TB, s *awsclient.Session, cfg engine.Config, rules ...rule.Rule) (*engine.Engine, *Evaluations) {
	t.Helper()
	e, err := engine.New(cfg, s, rules...)
	if err != nil {
		t.Fatal(err)
	}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	rec := &Evaluations{next: e.Evaluator}
	if e.Evaluator != nil {
		e.Evaluator = rec
	}
	return e, rec
}

// Handle runs one payload through e; an error fails the test.
func Handle(t testing.TB, e *engine.Engine, raw []byte) *engine.Result {
	t.Helper()
	res, err := e.Handle(context.Background(), raw)
	if err != nil {
		t.Fatalf("handle: %v (%+v)", err, res)
	}
	return res
}

// Only is the single decision of res; any other number fails the test.
func Only(t testing.TB, res *engine.Result) report.Decision {
	t.Helper()
	if len(res.Decisions) != 1 {
		t.Fatalf("decisions = %+v", res.Decisions)
	}
	return res.Decisions[0]
}

// One runs one payload through e and returns its single decision.
func One(t testing.TB, e *engine.Engine, raw []byte) report.Decision {
	t.Helper()
	return Only(t, Handle(t, e, raw))
}

// Recorded runs one payload through e and returns its result and the API
// calls it made, as moto's request recorder saw them (see mototest.Calls).
func Recorded(t testing.TB, e *engine.Engine, raw []byte) (*engine.Result, []string) {
	t.Helper()
	srv := mototest.Record(t)
	res, err := e.Handle(context.Background(), raw)
	calls := srv.Recorded(t)
	if err != nil {
		t.Fatalf("handle: %v (%+v)", err, res)
	}
	return res, calls
}

// RecordedOne is Recorded for a payload that must lead to exactly one
// decision: any other number fails the test.
func RecordedOne(t testing.TB, e *engine.Engine, raw []byte) (*engine.Result, []string) {
	t.Helper()
	res, calls := Recorded(t, e, raw)
	Only(t, res)
	return res, calls
}

// Outcomes lists actions as "outcome API" lines, e.g. "applied s3:PutBucketPublicAccessBlock".
func Outcomes(as []rule.Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, string(a.Outcome)+" "+a.API)
	}
	return out
}

// RoundTrip is res as `rampart run` saves it, for Undo.
func RoundTrip(t testing.TB, res *engine.Result) []byte {
	t.Helper()
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Undo reads a saved result back, as `rampart undo` does, undoes its
// decisions with e and returns the outcomes of the undo actions.
func Undo(t testing.TB, e *engine.Engine, saved []byte) []string {
	t.Helper()
	var back engine.Result
	if err := json.Unmarshal(saved, &back); err != nil {
		t.Fatal(err)
	}
	done, err := e.Undo(context.Background(), back.Decisions)
	if err != nil {
		t.Fatalf("undo: %v (%+v)", err, done)
	}
	return Outcomes(done)
}

// Root is the repository root: the nearest directory holding go.mod above
// the test's working directory (its package directory).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("enginetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Sample reads a file of the repository by its path from the root
// ("events/cloudtrail/…"), with strings replaced in old, new pairs (as
// strings.NewReplacer takes them): invented IDs by live ones, say.
func Sample(t testing.TB, path string, oldnew ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(Root(t), filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	if len(oldnew) == 0 {
		return raw
	}
	return []byte(strings.NewReplacer(oldnew...).Replace(string(raw)))
}

// Call decodes a sample CloudTrail or sign-in event into its API call.
func Call(t testing.TB, path string) *trigger.APICall {
	t.Helper()
	tr, err := trigger.Decode(Sample(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return tr.Call
}

// ScheduledEvent is the sample scheduled event (events/schedule) as the
// schedule of the rule with ID ruleID sends it.
func ScheduledEvent(t testing.TB, ruleID string) []byte {
	t.Helper()
	return Sample(t, "events/schedule/scheduled-event.json", "rampart-stale-credentials-sweep", "rampart-"+ruleID+"-sweep")
}

// ConfigInvocation is a sample Config rule invocation (the file of that name
// under events/config) aimed at the Config rule ruleName with the rule
// parameters params (a JSON object, as Config sends them) and the test-mode
// result token: moto 5.2.1 accepts PutEvaluations only in test mode, which
// the engine sets for that token. When edit is set, it may change the
// envelope and the configuration item (or its summary, for an oversized
// notification; nil when the invocation carries neither).
func ConfigInvocation(t testing.TB, file, ruleName, params string, edit func(ev, item map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(Sample(t, "events/config/"+file), &ev); err != nil {
		t.Fatal(err)
	}
	ev["configRuleName"], ev["resultToken"], ev["ruleParameters"] = ruleName, trigger.TestModeToken, params
	if edit != nil {
		var inv map[string]any
		invoking, _ := ev["invokingEvent"].(string)
		if err := json.Unmarshal([]byte(invoking), &inv); err != nil {
			t.Fatal(err)
		}
		item, _ := inv["configurationItem"].(map[string]any)
		if item == nil {
			item, _ = inv["configurationItemSummary"].(map[string]any)
		}
		edit(ev, item)
		b, err := json.Marshal(inv)
		if err != nil {
			t.Fatal(err)
		}
		ev["invokingEvent"] = string(b)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
