package sgopen_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/sgopen"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
	"golang.org/x/sync/errgroup"
)

// scheduledSweep is the Config periodic invocation of sg-open-world.
var scheduledSweep = fmt.Appendf(nil, `{"invokingEvent":%q,"ruleParameters":"{}","resultToken":"TESTMODE","eventLeftScope":false,"configRuleName":"rampart-sg-open-world"}`,
	`{"messageType":"ScheduledNotification","notificationCreationTime":"2026-11-26T10:00:00.000Z"}`)

var worldSSH = []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
	IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}

// seedGroups creates n groups in one VPC (concurrently: seeding is not what
// is measured) and returns their IDs; every tenth is opened to SSH.
func seedGroups(t testing.TB, s *awsclient.Session, n int) (all, open []string) {
	t.Helper()
	ctx := context.Background()
	c := awsclient.Client(s, ec2.NewFromConfig)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	all = make([]string, n)
	var g errgroup.Group
	g.SetLimit(4) // moto 5.2.1 answers some concurrent CreateSecurityGroup with a 500 beyond that
	for i := range n {
		g.Go(func() error {
			sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("scale-%05d", i)),
				Description: aws.String("scale"), VpcId: vpc.Vpc.VpcId})
			if err != nil {
				return err
			}
			all[i] = aws.ToString(sg.GroupId)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10 {
		open = append(open, all[i])
	}
	openGroups(t, s, open)
	return all, open
}

func openGroups(t testing.TB, s *awsclient.Session, ids []string) {
	t.Helper()
	c := awsclient.Client(s, ec2.NewFromConfig)
	var g errgroup.Group
	g.SetLimit(8)
	for _, id := range ids {
		g.Go(func() error {
			_, err := c.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: worldSSH})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// stillOpen lists the groups of ids that admit SSH from the world.
func stillOpen(t testing.TB, s *awsclient.Session) []string {
	t.Helper()
	pages := ec2.NewDescribeSecurityGroupsPaginator(awsclient.Client(s, ec2.NewFromConfig), &ec2.DescribeSecurityGroupsInput{})
	var out []string
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.SecurityGroups {
			for _, p := range g.IpPermissions {
				if aws.ToInt32(p.FromPort) == 22 && slices.ContainsFunc(p.IpRanges, func(r ec2types.IpRange) bool { return aws.ToString(r.CidrIp) == "0.0.0.0/0" }) {
					out = append(out, aws.ToString(g.GroupId))
				}
			}
		}
	}
	return out
}

func TestSweepStopsAtTheDeadlineBudgetAndTheRetryFinishes(t *testing.T) {
	s := mototest.Session(t)
	all, _ := seedGroups(t, s, 150)
	var rest []string // seedGroups opened every tenth: open all
	for i, id := range all {
		if i%10 != 0 {
			rest = append(rest, id)
		}
	}
	openGroups(t, s, rest)
	e, rec := enginetest.New(t, s, engine.Config{Mode: engine.Enforce}, sgopen.OpenWorld)
	e.SweepConcurrency = 2
	// The budget ends 200ms after the listing: a few of the 150 revokes
	// start, then none.
	listStart := time.Now()
	b, err := rule.BindWith(sgopen.OpenWorld, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sweep(context.Background(), rule.Env{Session: s}); err != nil {
		t.Fatal(err)
	}
	listing := time.Since(listStart)
	e.ReportReserve = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), e.ReportReserve+listing+200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := e.Handle(ctx, scheduledSweep)
	took := time.Since(start)
	if !errors.Is(err, engine.ErrFailed) {
		t.Fatalf("err = %v", err)
	}
	var fixed, skipped []string
	for _, d := range res.Decisions {
		switch {
		case d.Reason == engine.NotEvaluatedReason && d.Verdict == engine.ErrorVerdict && len(d.Actions) == 0:
			skipped = append(skipped, d.Resource)
		case d.Verdict == rule.Violation && d.Actions[0].Outcome == rule.Applied:
			fixed = append(fixed, d.Resource)
		case d.Verdict == rule.Compliant: // the VPC's default group
		default:
			t.Fatalf("decision %+v", d)
		}
	}
	if len(skipped) == 0 || len(fixed)+len(skipped) < 150 || took > e.ReportReserve {
		t.Fatalf("%d fixed, %d not evaluated, in %s", len(fixed), len(skipped), took)
	}
	t.Logf("%d fixed, %d not evaluated, in %s (listing %s)", len(fixed), len(skipped), took, listing)
	// Config hears only about what was decided; what was not stays open.
	if len(rec.Evals) != len(res.Decisions)-len(skipped) {
		t.Fatalf("%d evaluations for %d decided", len(rec.Evals), len(res.Decisions)-len(skipped))
	}
	open := stillOpen(t, s)
	slices.Sort(open)
	skipped = slices.DeleteFunc(skipped, func(id string) bool { return !slices.Contains(all, id) }) // the default groups
	slices.Sort(skipped)
	if !slices.Equal(open, skipped) {
		t.Fatalf("still open %d, not evaluated %d", len(open), len(skipped))
	}
	// Lambda's retry, with time enough, finishes the rest and touches
	// nothing fixed already.
	res, err = e.Handle(context.Background(), scheduledSweep)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range res.Decisions {
		if d.Verdict == rule.Violation {
			n++
			if slices.Contains(fixed, d.Resource) {
				t.Fatalf("%s fixed twice", d.Resource)
			}
		}
	}
	if n != len(skipped) || len(stillOpen(t, s)) != 0 {
		t.Fatalf("retry fixed %d of %d; still open %v", n, len(skipped), stillOpen(t, s))
	}
}

func TestAnUndeliveredNotificationFailsTheInvocationAndTheRetryResends(t *testing.T) {
	s := mototest.Session(t)
	id := seed(t, s)
	// A topic that does not exist (yet): every publish fails.
	arn := "arn:aws:sns:" + mototest.Region + ":" + mototest.Account + ":rampart-late"
	e, _ := enginetest.New(t, s, engine.Config{Mode: engine.Enforce, TopicARN: arn}, sgopen.OpenWorld)
	res, err := e.Handle(context.Background(), authorizeEvent(id, sshWorldItem))
	if !errors.Is(err, engine.ErrFailed) {
		t.Fatalf("err = %v", err)
	}
	d := res.Decisions[0]
	if d.Actions[0].Outcome != rule.Applied || !strings.Contains(d.Error, "notification not delivered") || e.Pending() != 1 {
		t.Fatalf("decision %+v, pending %d", d, e.Pending())
	}
	if slices.Contains(ingress(t, s, id), "tcp 22-22 0.0.0.0/0") {
		t.Fatal("the remediation was not applied")
	}
	// The topic is back; Lambda retries the same event.
	topic := mototest.NewTopic(t, s, "rampart-late")
	if topic.ARN != arn {
		t.Fatalf("topic %s", topic.ARN)
	}
	srv := mototest.Record(t)
	res, err = e.Handle(context.Background(), authorizeEvent(id, sshWorldItem))
	calls := srv.Recorded(t)
	if err != nil || res.Decisions[0].Verdict != rule.Compliant {
		t.Fatalf("retry: %v %+v", err, res)
	}
	if slices.Contains(calls, "RevokeSecurityGroupIngress") {
		t.Fatalf("the retry applied again: %v", calls)
	}
	got := topic.Received(t)
	if len(got) != 1 || !strings.Contains(got[0].Subject, "sg-open-world on "+id+": remediated") || e.Pending() != 0 {
		t.Fatalf("notifications %+v, pending %d", got, e.Pending())
	}
}

// TestSweepScale measures the Config periodic sweep of sg-open-world over
// many groups (every tenth open to SSH) in enforce mode, sequentially (one
// decision at a time: Rampart before bounded concurrency) and with
// concurrency, in the same run on the same moto. It is skipped unless
// RAMPART_SWEEP_SCALE names the sizes, e.g. "1000,10000" (10,000 groups
// take minutes to seed); RAMPART_SWEEP_CONCURRENCIES names the
// concurrencies compared with 1 (default "8,16"). docs/performance.md
// holds the figures.
func TestSweepScale(t *testing.T) {
	sizes := os.Getenv("RAMPART_SWEEP_SCALE")
	if sizes == "" {
		t.Skip("set RAMPART_SWEEP_SCALE=1000,10000 to measure")
	}
	levels := []int{1}
	for _, c := range strings.Split(cmp(os.Getenv("RAMPART_SWEEP_CONCURRENCIES"), "8,16"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			t.Fatal(err)
		}
		levels = append(levels, n)
	}
	var latencies []time.Duration
	for _, v := range strings.Split(cmp(os.Getenv("RAMPART_SWEEP_LATENCIES"), "0s,50ms"), ",") {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			t.Fatal(err)
		}
		latencies = append(latencies, d)
	}
	for _, field := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			t.Fatal(err)
		}
		s := mototest.Session(t)
		seedStart := time.Now()
		_, open := seedGroups(t, s, n)
		t.Logf("%d groups seeded in %s", n, time.Since(seedStart).Round(time.Second))
		fresh := true // seedGroups opened them; each later run opens them again
		for _, lat := range latencies {
			sess := s
			if lat > 0 {
				if sess, err = sdkconfig.Load(context.Background(), config.WithAPIOptions([]func(*middleware.Stack) error{addLatency(lat)})); err != nil {
					t.Fatal(err)
				}
			}
			var base, baseDecide time.Duration
			for _, c := range levels {
				if !fresh {
					openGroups(t, s, open)
				}
				fresh = false
				tr := &timedRule{Rule: sgopen.OpenWorld}
				e, rec := enginetest.New(t, sess, engine.Config{Mode: engine.Enforce}, tr)
				te := &timedEvals{next: e.Evaluator}
				e.Evaluator = te
				e.SweepConcurrency = c
				start := time.Now()
				res, err := e.Handle(context.Background(), scheduledSweep)
				took := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				fixed := 0
				for _, d := range res.Decisions {
					if d.Verdict == rule.Violation && d.Actions[0].Outcome == rule.Applied {
						fixed++
					}
				}
				if fixed != len(open) || len(rec.Evals) != len(res.Decisions) || len(stillOpen(t, s)) != 0 {
					t.Fatalf("concurrency %d: fixed %d of %d, %d evaluations", c, fixed, len(open), len(rec.Evals))
				}
				decide := took - tr.list - te.took
				if c == 1 {
					base, baseDecide = took, decide
				}
				t.Logf("RESULT groups=%d violating=%d latency=%s concurrency=%d sweep=%s ratio=%.2f (list %s, decide %s ratio %.2f, report %s)",
					n, len(open), lat, c, took.Round(10*time.Millisecond), float64(took)/float64(base), tr.list.Round(10*time.Millisecond),
					decide.Round(10*time.Millisecond), float64(decide)/float64(baseDecide), te.took.Round(10*time.Millisecond))
			}
		}
	}
}

// addLatency delays every attempt of every call by d: the round trip to a
// real AWS endpoint, which moto on loopback does not have.
func addLatency(d time.Duration) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("Latency", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
			middleware.FinalizeOutput, middleware.Metadata, error) {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return middleware.FinalizeOutput{}, middleware.Metadata{}, ctx.Err()
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
	}
}

// timedRule times the rule's listing of the groups.
type timedRule struct {
	rule.Rule
	list time.Duration
}

// Bind binds the rule with its sweep timed.
func (r *timedRule) Bind(p rule.Params) (*rule.Bound, error) {
	b, err := r.Rule.Bind(p)
	if err != nil || b.Sweep == nil {
		return b, err
	}
	sweep := b.Sweep
	b.Sweep = func(ctx context.Context, env rule.Env) ([]rule.Target, error) {
		start := time.Now()
		defer func() { r.list = time.Since(start) }()
		return sweep(ctx, env)
	}
	return b, nil
}

// timedEvals times the PutEvaluations calls.
type timedEvals struct {
	next report.Evaluator
	took time.Duration
}

func (e *timedEvals) PutEvaluations(ctx context.Context, token string, evals []cfgtypes.Evaluation) error {
	start := time.Now()
	defer func() { e.took += time.Since(start) }()
	return e.next.PutEvaluations(ctx, token, evals)
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
