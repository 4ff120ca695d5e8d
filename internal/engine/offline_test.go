package engine_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// TestEverySampleOfflineWithoutPanic runs every payload under events/ (and
// any fuzz corpus committed under testdata/fuzz) through the offline engine
// with every rule, as `rampart plan` does: nothing panics, nothing fails
// but bad input, and bad input is trigger.ErrInput.
func TestEverySampleOfflineWithoutPanic(t *testing.T) {
	root := filepath.Join("..", "..")
	var files []string
	for _, dir := range []string{filepath.Join(root, "events"), filepath.Join(root, "internal", "trigger", "testdata", "fuzz")} {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".md") {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) < 50 {
		t.Fatalf("only %d samples found", len(files))
	}
	// In us-east-1, as `rampart plan` with AWS_REGION set; and with no
	// region, where the plan follows each event to its own region (and
	// account) — so no sample is merely out of scope.
	for _, region := range []string{"us-east-1", ""} {
		for _, f := range files {
			name, _ := filepath.Rel(root, f)
			t.Run(orNone(region)+"/"+name, func(t *testing.T) { planOffline(t, region, f, name) })
		}
	}
}

func orNone(region string) string {
	if region == "" {
		return "no-region"
	}
	return region
}

// planOffline runs one sample through the offline engine with every rule.
func planOffline(t *testing.T, region, f, name string) {
	raw, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Config{}, awsclient.NewOffline(region), catalog.All()...)
	if err != nil {
		t.Fatal(err)
	}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	var res *engine.Result
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("panic: %v", v)
			}
		}()
		res, err = e.Handle(context.Background(), raw)
	}()
	invalid := strings.Contains(name, "invalid") || strings.Contains(name, "bad-rule-parameters")
	switch {
	case invalid && !errors.Is(err, trigger.ErrInput):
		t.Fatalf("bad input: err = %v, want trigger.ErrInput", err)
	case invalid:
		return
	case err != nil:
		t.Fatalf("err = %v", err)
	}
	if len(res.Decisions) == 0 {
		t.Fatal("no decision: a plan must say what it concluded")
	}
	for _, d := range res.Decisions {
		if d.Verdict == engine.ErrorVerdict || strings.Contains(d.Error, "panicked") {
			t.Errorf("%s on %s: %s (%s)", d.Rule, d.Resource, d.Reason, d.Error)
		}
		for _, a := range d.Actions {
			if a.Outcome != rule.Planned {
				t.Errorf("%s: action %s outcome %q offline, want planned", d.Rule, a.API, a.Outcome)
			}
		}
	}
}

// FuzzOfflinePlan feeds the offline engine, with every rule, whatever the
// fuzzer makes of the samples under events/: nothing panics, in the engine
// or in any rule, and the only error is bad input (trigger.ErrInput).
func FuzzOfflinePlan(f *testing.F) {
	_ = filepath.WalkDir(filepath.Join("..", "..", "events"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".md") {
			if raw, err := os.ReadFile(path); err == nil {
				f.Add(raw)
			}
		}
		return nil
	})
	// With a region, and without one (the plan follows the event).
	var engines []*engine.Engine
	for _, region := range []string{"us-east-1", ""} {
		e, err := engine.New(engine.Config{}, awsclient.NewOffline(region), catalog.All()...)
		if err != nil {
			f.Fatal(err)
		}
		e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
		engines = append(engines, e)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, e := range engines {
			res, err := e.Handle(context.Background(), raw)
			if err != nil {
				if !errors.Is(err, trigger.ErrInput) {
					t.Fatalf("err = %v, want nil or trigger.ErrInput", err)
				}
				continue
			}
			for _, d := range res.Decisions {
				if strings.Contains(d.Error, "panicked") {
					t.Fatalf("%s on %s: %s", d.Rule, d.Resource, d.Error)
				}
			}
		}
	})
}
