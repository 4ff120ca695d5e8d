package engine

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"golang.org/x/sync/errgroup"
)

// EnvSweepConcurrency is how many resources of a sweep are decided at
// once (1 to 64).
const EnvSweepConcurrency = "RAMPART_SWEEP_CONCURRENCY"

// DefaultSweepConcurrency is the sweep concurrency when none is set. The
// SDK's adaptive retry mode (awsclient.Configure) slows every client down when
// AWS throttles, so more workers than the API's rate allows only wait.
const DefaultSweepConcurrency = 8

// MaxSweepConcurrency bounds the setting.
const MaxSweepConcurrency = 64

// NotEvaluatedReason is the reason of a decision the invocation had no time
// left to make. Its verdict is ErrorVerdict: it fails the invocation (so
// Lambda retries it) and is never reported to AWS Config.
const NotEvaluatedReason = "not evaluated: the invocation ran out of time"

// Sweeping bounds the work of one invocation.
type Sweeping struct {
	// SweepConcurrency is how many targets of a sweep are decided at once
	// (0: DefaultSweepConcurrency).
	SweepConcurrency int
	// ReportReserve is the time kept, before the invocation's deadline, for
	// reporting what was decided (PutEvaluations, notifications): no new
	// decision starts after the deadline minus this. 0: a fifth of the
	// time left when the invocation starts, at most 10s.
	ReportReserve time.Duration
}

// SweepConcurrencyFromEnv reads EnvSweepConcurrency: the default when it is
// unset, an error when it is not a whole number from 1 to 64.
func SweepConcurrencyFromEnv(getenv func(string) string) (int, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	v := strings.TrimSpace(getenv(EnvSweepConcurrency))
	if v == "" {
		return DefaultSweepConcurrency, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxSweepConcurrency {
		return 0, fmt.Errorf("%s: %q is not a whole number from 1 to %d", EnvSweepConcurrency, v, MaxSweepConcurrency)
	}
	return n, nil
}

func (s *Sweeping) concurrency() int {
	if s.SweepConcurrency < 1 {
		return DefaultSweepConcurrency
	}
	return min(s.SweepConcurrency, MaxSweepConcurrency)
}

type budgetKey struct{}

// withBudget notes, when ctx has a deadline, the moment after which no new
// decision starts.
func (e *Engine) withBudget(ctx context.Context) context.Context {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx
	}
	reserve := e.ReportReserve
	if reserve <= 0 {
		reserve = min(time.Until(deadline)/5, 10*time.Second)
	}
	return context.WithValue(ctx, budgetKey{}, deadline.Add(-reserve))
}

// outOfTime reports whether the invocation's budget is spent; if so it
// marks d as not evaluated.
func outOfTime(ctx context.Context, d *report.Decision) bool {
	until, ok := ctx.Value(budgetKey{}).(time.Time)
	if !ok || time.Now().Before(until) {
		return false
	}
	d.Verdict, d.Reason = ErrorVerdict, NotEvaluatedReason
	d.Error = "the invocation's deadline, less the time kept for reporting, had passed; Lambda retries the event"
	return true
}

// decideAll decides the targets of a sweep, at most SweepConcurrency at a
// time, each decision starting from base(). The decisions come back in
// the targets' order. Targets not started before the budget runs out are
// decided as not evaluated (see outOfTime), never dropped.
func (e *Engine) decideAll(ctx context.Context, b *rule.Bound, targets []rule.Target, base func() report.Decision) []report.Decision {
	ds := make([]report.Decision, len(targets))
	var g errgroup.Group
	g.SetLimit(e.concurrency())
	for i, t := range targets {
		ds[i] = base()
		g.Go(func() error {
			defer func() {
				if v := recover(); v != nil {
					d := &ds[i]
					d.Verdict, d.Reason, d.Error = ErrorVerdict, "could not decide", fmt.Sprintf("rule %s panicked deciding %s: %v", b.Meta().ID, t.ID, v)
					e.record(ctx, d)
				}
			}()
			e.decide(ctx, b, t, &ds[i])
			return nil
		})
	}
	_ = g.Wait() // the goroutines return no error: every outcome is in its decision
	return ds
}
