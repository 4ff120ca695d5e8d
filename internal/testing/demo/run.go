package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/lambdatest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// Response is a Rampart Lambda's response payload (lambdafn.Response).
type Response struct {
	Decisions []report.Decision `json:"decisions"`
	Rejected  string            `json:"rejected,omitempty"`
}

// Outcome is what became of one scenario.
type Outcome struct {
	Scenario      Scenario
	Fixture       Fixture
	Before, After []string
	// Decisions are every decision the scenario's events led to.
	Decisions []report.Decision
	// Notifications are the subjects of the SNS messages Rampart published
	// about the scenario's resource.
	Notifications []string
	// Err is set when the scenario did not end as it must: an invocation
	// failed, or the state is not Want.
	Err error
}

// Timing is one function's latency under the emulator.
type Timing struct {
	Function    string
	Cold, Warm  time.Duration // first invoke; median of the others
	Invocations int
}

// Options of Run.
type Options struct {
	// Out gets the table; Progress gets one line per step (nil: none).
	Out, Progress io.Writer
	// Scenarios default to Scenarios().
	Scenarios []Scenario
}

// Summary is what Run did.
type Summary struct {
	Outcomes []Outcome
	Timings  []Timing
	// Replays and ReplayChanges count the second delivery of every event and
	// the mutating API calls it caused (0: duplicates are no-ops).
	Replays, ReplayChanges int
	ReplayErrors           int
	// Notifications counts the SNS messages published by the first delivery.
	Notifications int
	Wall, Build   time.Duration
}

// Failed counts the scenarios that did not end as they must.
func (s *Summary) Failed() int {
	n := 0
	for _, o := range s.Outcomes {
		if o.Err != nil {
			n++
		}
	}
	return n
}

// Run is `make demo`: build the functions for this machine, start moto, seed
// every scenario's insecure resource, replay the scenarios' events through
// the real bootstrap binaries under the Lambda Runtime Interface Emulator in
// enforce mode, read the resources back, replay everything once more to show
// that duplicates change nothing, and print the table. Every process it
// starts is stopped before it returns.
func Run(ctx context.Context, o Options) (*Summary, error) {
	began := time.Now()
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "› "+format+"\n", args...)
		}
	}
	if why := lambdatest.Supported(); why != "" {
		return nil, errors.New(why)
	}
	// Prerequisites first, not after a long compile.
	if err := Prerequisites(exec.LookPath); err != nil {
		return nil, err
	}
	scs := o.Scenarios
	if scs == nil {
		scs = Scenarios()
	}
	for _, sc := range scs {
		if sc.Function() == "" {
			return nil, fmt.Errorf("scenario %q: rule %s is not in the catalog", sc.Name, sc.Rule)
		}
	}
	root, err := lambdatest.Root()
	if err != nil {
		return nil, err
	}
	names, err := lambdatest.FunctionNames(root)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rampart-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	// Build (CPU) while moto (Python) starts.
	progress("building %d functions for linux/%s (%s) and the Lambda Runtime Interface Emulator; starting moto_server",
		len(names), runtime.GOARCH, strings.Join(names, ", "))
	progress("the first build compiles the AWS SDK for Go: several minutes on 2 cores; later runs reuse Go's build cache and take seconds")
	var (
		srv     *mototest.Server
		motoErr error
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv, motoErr = mototest.Start()
	}()
	buildStart := time.Now()
	bins, buildErr := buildEach(ctx, root, dir, names, progress)
	var rie string
	if buildErr == nil {
		progress("building the Runtime Interface Emulator")
		rie, buildErr = lambdatest.RIE(ctx, root)
	}
	build := time.Since(buildStart)
	wg.Wait()
	if srv != nil {
		defer srv.Stop()
	}
	if err := errors.Join(buildErr, motoErr); err != nil {
		return nil, err
	}
	progress("built in %s; moto_server answers on %s", build.Round(100*time.Millisecond), srv.URL)
	for k, v := range srv.Env() {
		os.Setenv(k, v)
	}
	sess, err := sdkconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	alerts, err := newTopic(ctx, sess, "rampart-alerts")
	if err != nil {
		return nil, err
	}

	progress("seeding an insecure account: %s", plural(len(scs), "resource"))
	outcomes := make([]Outcome, len(scs))
	payloads := make([][][]byte, len(scs))
	for i, sc := range scs {
		out := &outcomes[i]
		out.Scenario = sc
		if out.Fixture, err = sc.Seed(ctx, sess); err != nil {
			return nil, fmt.Errorf("seed %q: %w", sc.Name, err)
		}
		if out.Before, err = sc.ReadState(ctx, sess, out.Fixture); err != nil {
			return nil, fmt.Errorf("read %q: %w", sc.Name, err)
		}
		if payloads[i], err = sc.Payloads(out.Fixture); err != nil {
			return nil, err
		}
	}

	fnNames, groups := ByFunction(scs)
	fns := map[string]*lambdatest.Function{}
	defer func() {
		for _, f := range fns {
			f.Stop()
		}
	}()
	index := func(sc Scenario) int {
		return slices.IndexFunc(scs, func(x Scenario) bool { return x.Name == sc.Name })
	}
	for _, fn := range fnNames {
		env := lambdatest.Merge(lambdatest.LambdaEnv(fn), srv.Env(),
			lambdatest.Deployment{Mode: engine.Enforce, Params: Params(groups[fn]), TopicARN: alerts.ARN}.Env())
		f, err := lambdatest.Start(ctx, lambdatest.Options{RIE: rie, Bootstrap: bins[fn], Env: env})
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn, err)
		}
		fns[fn] = f
		n := 0
		for _, sc := range groups[fn] {
			n += len(sc.Events)
		}
		progress("%s: replaying %s through its bootstrap under the RIE (enforce mode)", fn, plural(n, "event"))
		for _, sc := range groups[fn] {
			i := index(sc)
			out := &outcomes[i]
			for j, p := range payloads[i] {
				ds, err := invoke(ctx, f, p)
				out.Decisions = append(out.Decisions, ds...)
				if err != nil {
					out.Err = errors.Join(out.Err, fmt.Errorf("%s: %w", sc.Events[j], err))
				}
			}
			after, err := sc.ReadState(ctx, sess, out.Fixture)
			if err != nil {
				return nil, fmt.Errorf("read %q: %w", sc.Name, err)
			}
			out.After = after
			if !SameState(after, sc.Want) {
				out.Err = errors.Join(out.Err, fmt.Errorf("state after Rampart = %q, want %q", after, sc.Want))
			}
		}
	}

	// What the deployment's topic received: one message per violation.
	sent, err := alerts.drain(ctx)
	if err != nil {
		return nil, err
	}
	for i := range outcomes {
		out := &outcomes[i]
		for _, n := range sent {
			if n.Rule == out.Scenario.Rule && slices.ContainsFunc(out.Decisions, func(d report.Decision) bool {
				// The subject is cut at SNS's 100 characters; the body names the resource.
				return d.Resource != "" && strings.Contains(n.Subject+n.Message, d.Resource)
			}) {
				out.Notifications = append(out.Notifications, n.Subject)
			}
		}
		if out.Scenario.AlertOnly() && len(out.Notifications) == 0 {
			out.Err = errors.Join(out.Err, errors.New("no notification was published"))
		}
	}

	// The same events again: level-triggered evaluation makes duplicates no-ops.
	sum := &Summary{Outcomes: outcomes, Build: build, Notifications: len(sent)}
	if err := srv.StartRecording(); err != nil {
		return nil, err
	}
	for _, fn := range fnNames {
		for _, sc := range groups[fn] {
			for _, p := range payloads[index(sc)] {
				sum.Replays++
				if _, err := invoke(ctx, fns[fn], p); err != nil {
					sum.ReplayErrors++
				}
			}
		}
	}
	calls, err := srv.Calls()
	if err != nil {
		return nil, err
	}
	sum.ReplayChanges = len(lambdatest.Changes(calls))
	progress("replayed all %d events again (a duplicate delivery): %d changes", sum.Replays, sum.ReplayChanges)

	for _, fn := range fnNames {
		f := fns[fn]
		sum.Timings = append(sum.Timings, Timing{Function: fn, Cold: f.Cold(), Warm: f.WarmMedian(), Invocations: len(f.Invocations())})
		f.Stop()
	}
	srv.Stop()
	sum.Wall = time.Since(began)
	if o.Out != nil {
		Print(o.Out, sum)
	}
	return sum, nil
}

// invoke sends one payload and returns the decisions; a function error or a
// rejected payload is an error.
func invoke(ctx context.Context, f *lambdatest.Function, payload []byte) ([]report.Decision, error) {
	inv, err := f.Invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	if inv.FunctionError {
		return nil, fmt.Errorf("function error %s: %s", inv.ErrorType, inv.ErrorMessage)
	}
	var r Response
	if err := json.Unmarshal(inv.Body, &r); err != nil {
		return nil, fmt.Errorf("response %s: %w", inv.Body, err)
	}
	if r.Rejected != "" {
		return r.Decisions, fmt.Errorf("rejected: %s", r.Rejected)
	}
	return r.Decisions, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// SameState compares state lines regardless of order.
func SameState(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// acted are the decisions worth a row: violations; else the scenario's own.
func acted(o Outcome) []report.Decision {
	var out []report.Decision
	for _, d := range o.Decisions {
		if d.Verdict == rule.Violation || d.Error != "" {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		for _, d := range o.Decisions {
			if d.Rule == o.Scenario.Rule {
				out = append(out, d)
			}
		}
	}
	return out
}

// Prerequisites checks, before anything is compiled, that the programs the
// demo runs are installed, and says how to install what is missing. lookPath
// is exec.LookPath.
func Prerequisites(lookPath func(string) (string, error)) error {
	var missing []string
	if _, err := lookPath("moto_server"); err != nil {
		missing = append(missing, "moto_server (the emulated AWS) is not on PATH: install it with\n    python3 -m pip install 'moto[server]==5.2.1'")
		if _, err := lookPath("python3"); err != nil {
			missing = append(missing, "python3 is not on PATH: moto needs Python 3.9 or later (e.g. apt-get install python3 python3-pip)")
		}
	}
	if _, err := lookPath("go"); err != nil {
		missing = append(missing, "go is not on PATH: the demo builds the functions with it (https://go.dev/dl/)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing prerequisites:\n  %s", strings.Join(missing, "\n  "))
	}
	return nil
}

// buildEach builds the functions one by one, so that each reports when it is
// built; the first compiles the shared dependencies (the AWS SDK), the
// others reuse them from Go's build cache. While a build runs, a line every
// 30 seconds says it still does.
func buildEach(ctx context.Context, root, dir string, names []string, progress func(string, ...any)) (map[string]string, error) {
	bins := make(map[string]string, len(names))
	var mu sync.Mutex
	current, since := "", time.Now()
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mu.Lock()
				progress("still compiling %s (%s)…", current, time.Since(since).Round(time.Second))
				mu.Unlock()
			}
		}
	}()
	for i, n := range names {
		mu.Lock()
		current, since = n, time.Now()
		mu.Unlock()
		b, err := lambdatest.Build(ctx, root, dir, n)
		if err != nil {
			return nil, err
		}
		bins[n] = b[n]
		mu.Lock()
		progress("built %s (%d/%d) in %s", n, i+1, len(names), time.Since(since).Round(100*time.Millisecond))
		mu.Unlock()
	}
	return bins, nil
}
