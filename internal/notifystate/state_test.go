package notifystate

import (
	"context"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestNotable(t *testing.T) {
	t.Parallel()
	states := []State{None, Violation, Remediated, Failed, Exempt, Compliant}
	// want[prev][next]: the event, or "" for silence.
	want := map[State]map[State]Event{
		None:       {Violation: NewViolation, Remediated: Fixed, Failed: FixFailed, Exempt: ExemptStarted},
		Violation:  {Remediated: Fixed, Failed: FixFailed, Exempt: ExemptStarted, Compliant: Resolved},
		Remediated: {Violation: NewViolation, Failed: FixFailed, Exempt: ExemptStarted},
		Failed:     {Remediated: Fixed, Exempt: ExemptStarted, Compliant: Resolved},
		Exempt:     {Violation: ExemptEnded, Remediated: Fixed, Failed: FixFailed},
		Compliant:  {Violation: NewViolation, Remediated: Fixed, Failed: FixFailed, Exempt: ExemptStarted},
	}
	for _, prev := range states {
		for _, next := range states {
			if next == None {
				continue
			}
			ev, ok := Notable(prev, next)
			if w := want[prev][next]; ev != w || ok != (w != "") {
				t.Errorf("%q → %q: got %q %v, want %q", prev, next, ev, ok, w)
			}
		}
	}
}

func TestNext(t *testing.T) {
	t.Parallel()
	notified := func(s State, ev string) *item {
		return &item{Record: Record{State: s, EventID: ev, Notified: true}, ClaimedAt: t0.Add(-time.Hour)}
	}
	unsent := func(prev, s State, ev string, claimed time.Time) *item {
		return &item{Record: Record{State: s, EventID: ev}, Prev: prev, ClaimedAt: claimed}
	}
	obs := func(s State, ev string, perEvent bool) Observation {
		return Observation{State: s, EventID: ev, PerEvent: perEvent, Now: t0}
	}
	cases := []struct {
		name   string
		old    *item
		o      Observation
		step   step
		notify bool
		event  Event
	}{
		{"first sight of a violation", nil, obs(Violation, "e1", false), write, true, NewViolation},
		{"first sight of a healthy resource", nil, obs(Compliant, "e1", false), write, false, ""},
		{"daily repeat of a notified violation", notified(Violation, "e1"), obs(Violation, "e2", false), touch, false, ""},
		{"retry of a notified event", notified(Violation, "e1"), obs(Violation, "e1", false), touch, false, ""},
		{"retry of an event whose publish failed", unsent(None, Violation, "e1", t0), obs(Violation, "e1", false), resend, true, NewViolation},
		{"another event while the first publishes", unsent(None, Violation, "e1", t0.Add(-time.Minute)), obs(Violation, "e2", false), wait, false, ""},
		{"another event after the first died", unsent(Compliant, Violation, "e1", t0.Add(-Lease)), obs(Violation, "e2", false), claim, true, NewViolation},
		{"remediated by Rampart", notified(Violation, "e1"), obs(Remediated, "e2", true), write, true, Fixed},
		{"re-opened and remediated again", notified(Remediated, "e1"), obs(Remediated, "e2", true), write, true, Fixed},
		{"retry of that remediation (now a no-op)", notified(Remediated, "e2"), obs(Remediated, "e2", false), touch, false, ""},
		{"second alert (a new sign-in)", notified(Violation, "e1"), obs(Violation, "e2", true), write, true, NewViolation},
		{"retry of an alert already sent", notified(Violation, "e1"), obs(Violation, "e1", true), touch, false, ""},
		{"Rampart's own tag write re-triggers Config", notified(Violation, "e1"), obs(Violation, "config-tag", false), touch, false, ""},
		{"resolved by someone else", notified(Violation, "e1"), obs(Compliant, "e2", false), write, true, Resolved},
		{"exemption expired", notified(Exempt, "e1"), obs(Violation, "e2", false), write, true, ExemptEnded},
		{"Rampart's fix confirmed by Config", notified(Remediated, "e1"), obs(Compliant, "e2", false), write, false, ""},
	}
	for _, c := range cases {
		s, ch := next(c.old, c.o)
		if s != c.step || ch.Notify != c.notify || ch.Event != c.event {
			t.Errorf("%s: got step %d notify %v %q, want step %d notify %v %q", c.name, s, ch.Notify, ch.Event, c.step, c.notify, c.event)
		}
	}
}

// storeContract is the behaviour both stores must have; the DynamoDB one
// runs it against moto (integration_test.go).
func storeContract(t *testing.T, st Store) {
	ctx := context.Background()
	k := Key{Account: "123456789012", Region: "us-east-1", Rule: "sg-open-world", Resource: "sg-1"}
	observe := func(s State, ev string, perEvent bool, now time.Time) Change {
		t.Helper()
		ch, err := st.Observe(ctx, Observation{Key: k, State: s, EventID: ev, PerEvent: perEvent, Severity: "high", Reason: "open to the world", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	mark := func(ev string) {
		t.Helper()
		if err := st.MarkNotified(ctx, k, ev); err != nil {
			t.Fatal(err)
		}
	}
	// A new violation notifies; its publish fails, so it is not marked.
	if ch := observe(Violation, "e1", false, t0); !ch.Notify || ch.Event != NewViolation {
		t.Fatalf("first violation: %+v", ch)
	}
	// Lambda retries e1: the message never went out, so it goes now.
	if ch := observe(Violation, "e1", false, t0.Add(time.Minute)); !ch.Notify || ch.Event != NewViolation {
		t.Fatalf("retry after a failed publish: %+v", ch)
	}
	// Another event meanwhile: e1's retry owns the message.
	if ch := observe(Violation, "e2", false, t0.Add(2*time.Minute)); ch.Notify {
		t.Fatalf("other event while e1 publishes: %+v", ch)
	}
	mark("e1")
	// A retry after the publish succeeded, and the daily repeats: silent.
	for i, ev := range []string{"e1", "daily-1", "daily-2", "tag-write"} {
		if ch := observe(Violation, ev, false, t0.Add(time.Duration(i+3)*time.Hour)); ch.Notify {
			t.Fatalf("repeat %s: %+v", ev, ch)
		}
	}
	open, more, err := st.Open(ctx, 10)
	if err != nil || more || len(open) != 1 || open[0].Key != k || open[0].State != Violation || !open[0].Since.Equal(t0) || open[0].Reason != "open to the world" {
		t.Fatalf("open = %+v %v %v", open, more, err)
	}
	// Three failed evaluations by two events (one retried): two failures.
	for i, ev := range []string{"f1", "f1", "f2"} {
		n, counted, err := st.Fail(ctx, k, ev, t0.Add(time.Duration(10+i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if wantN, wantCounted := []int{1, 1, 2}[i], i != 1; n != wantN || counted != wantCounted {
			t.Fatalf("failure %d (%s): %d %v", i, ev, n, counted)
		}
	}
	// The owner fixes it: resolved, notified once; the failures reset.
	if ch := observe(Compliant, "e3", false, t0.Add(24*time.Hour)); !ch.Notify || ch.Event != Resolved || ch.Prev != Violation {
		t.Fatalf("resolved: %+v", ch)
	}
	mark("e3")
	if ch := observe(Compliant, "e3", false, t0.Add(25*time.Hour)); ch.Notify {
		t.Fatalf("resolved retried: %+v", ch)
	}
	if n, counted, _ := st.Fail(ctx, k, "f3", t0.Add(26*time.Hour)); n != 1 || !counted {
		t.Fatalf("failures after a success: %d %v", n, counted)
	}
	if open, _, _ := st.Open(ctx, 10); len(open) != 0 {
		t.Fatalf("open after resolution: %+v", open)
	}
	// Re-opened and remediated by Rampart twice: each is news.
	for _, ev := range []string{"r1", "r2"} {
		if ch := observe(Remediated, ev, true, t0.Add(48*time.Hour)); !ch.Notify || ch.Event != Fixed {
			t.Fatalf("remediation %s: %+v", ev, ch)
		}
		mark(ev)
	}
	// An invocation that died after writing a transition: past the lease,
	// a later event takes the message over.
	observe(Violation, "d1", false, t0.Add(72*time.Hour))
	if ch := observe(Violation, "d2", false, t0.Add(72*time.Hour+Lease)); !ch.Notify || ch.Event != NewViolation {
		t.Fatalf("stale claim: %+v", ch)
	}
	mark("d2")
	if ch := observe(Violation, "d1", false, t0.Add(73*time.Hour)); ch.Notify {
		t.Fatalf("the dead invocation's retry after the takeover: %+v", ch)
	}
	// Causes: the first event to claim one owns it, and so do its retries.
	c := Cause{Account: k.Account, Region: k.Region, Resource: k.Resource, ID: "ct-event-1"}
	for i, want := range []struct {
		ev    string
		after time.Duration
		owned bool
	}{{"e1", 0, true}, {"e1", time.Minute, true}, {"config-e2", time.Hour, false}, {"e3", CauseTTL + time.Hour, true}} {
		owned, err := st.Claim(ctx, c, want.ev, t0.Add(100*time.Hour+want.after))
		if err != nil || owned != want.owned {
			t.Fatalf("claim %d by %s: %v %v", i, want.ev, owned, err)
		}
	}
	if open, _, _ := st.Open(ctx, 10); len(open) != 1 || open[0].Key != k {
		t.Fatalf("a cause appears among the open findings: %+v", open)
	}
}

func TestMemoryStore(t *testing.T) { storeContract(t, NewMemory()) }

func TestOpenIsBounded(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	for i := range 5 {
		k := Key{Account: "1", Region: "r", Rule: "x", Resource: fmt.Sprint(i)}
		if _, err := m.Observe(context.Background(), Observation{Key: k, State: Violation, EventID: "e", Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if got, more, _ := m.Open(context.Background(), 3); len(got) != 3 || !more {
		t.Fatalf("%d %v", len(got), more)
	}
}
