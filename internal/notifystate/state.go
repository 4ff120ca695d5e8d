// Package notifystate remembers, per account, region, rule and resource, the
// state Rampart last told a human about, so that the engine notifies on
// transitions only (a new violation, a remediation, a failed remediation, an
// exemption starting or ending, a violation resolved by someone else) instead
// of on every evaluation. It also counts consecutive evaluation failures, and
// lists the open findings for the daily digest.
//
// It owns the item layout of Rampart's state table (DynamoDB in AWS, a map in
// tests) and the conditional writes that make concurrent invocations and
// Lambda retries agree on who notifies. It decides nothing about rules and
// sends no message: the engine does both.
package notifystate

import (
	"context"
	"time"

	"github.com/rampart-aws/rampart/internal/report"
)

// State is what Rampart last concluded about one rule on one resource.
type State string

// The states a (rule, resource) can be in. None is the zero value: nothing
// stored yet.
const (
	None       State = ""
	Violation  State = "violation"  // in violation, not (or not yet) fixed: report mode, or no automatic fix
	Remediated State = "remediated" // Rampart fixed it
	Failed     State = "failed"     // Rampart tried to fix it and failed
	Exempt     State = "exempt"     // an exemption covers it
	Compliant  State = "compliant"  // compliant, gone or out of scope
)

// Open reports whether the state is a finding someone still has to act on:
// the daily digest lists those.
func (s State) Open() bool { return s == Violation || s == Failed }

// Event is what a notification says happened.
type Event string

// The events worth a message.
const (
	NewViolation  Event = "new violation"
	Fixed         Event = "remediated"
	FixFailed     Event = "remediation failed"
	ExemptStarted Event = "exemption started"
	ExemptEnded   Event = "exemption ended"
	Resolved      Event = "resolved"
	Unevaluable   Event = "cannot evaluate"
)

// Notable says whether going from prev to next is worth a message, and as
// what. Repeats of a state are silent (a per-event observation — an alert,
// an applied remediation — is judged by the caller; see Observation.PerEvent).
//
//	prev \ next      violation      remediated  failed       exempt     compliant
//	none             new violation  remediated  failed       exempt     -
//	violation        -              remediated  failed       exempt     resolved
//	remediated       new violation  -           failed       exempt     -
//	failed           -              remediated  -            exempt     resolved
//	exempt           exempt ended   remediated  failed       -          -
//	compliant        new violation  remediated  failed       exempt     -
//
// failed → violation is silent: the finding is still open and was reported
// (e.g. the rule was switched to report mode). remediated → compliant is
// Rampart's own fix confirmed by a later evaluation; none → compliant is
// the normal case of a healthy resource: both silent.
func Notable(prev, next State) (Event, bool) {
	if prev == next {
		return "", false
	}
	switch next {
	case Violation:
		switch prev {
		case Failed:
			return "", false
		case Exempt:
			return ExemptEnded, true
		default: // from none, compliant or remediated: opened
		}
		return NewViolation, true
	case Remediated:
		return Fixed, true
	case Failed:
		return FixFailed, true
	case Exempt:
		return ExemptStarted, true
	case Compliant:
		if prev.Open() {
			return Resolved, true
		}
	default: // None: never stored
	}
	return "", false
}

// Key names one rule on one resource in one account and region.
type Key struct {
	Account, Region, Rule, Resource string
}

// ID is the table's partition key: "<account>#<region>#<rule>#<resource>".
func (k Key) ID() string { return k.Account + "#" + k.Region + "#" + k.Rule + "#" + k.Resource }

// Observation is one decision about a key, as the engine hands it over.
type Observation struct {
	Key   Key
	State State
	// EventID names the trigger: the same across Lambda retries of one
	// event, different for every other event.
	EventID string
	// PerEvent makes every new event a transition even when the state does
	// not change: an alert (each root sign-in is news) or a remediation
	// Rampart applied (someone re-opened what Rampart had closed).
	PerEvent bool
	// Severity and Reason are kept for the digest.
	Severity, Reason string
	Now              time.Time
}

// Change is what an observation amounts to.
type Change struct {
	// Prev is the state before the observation's transition (for a retry,
	// before the transition the first attempt wrote).
	Prev State
	// Event is set when the observation must be notified; the caller then
	// publishes and, once the publish succeeded, calls MarkNotified.
	Event  Event
	Notify bool
}

// Record is one stored item, as the digest reads it.
type Record struct {
	Key              Key
	State            State
	Since, LastSeen  time.Time
	EventID          string
	Notified         bool
	Failures         int
	Severity, Reason string
}

// Store keeps the state. Implementations: Dynamo (the deployed table) and
// Memory (unit tests, and the CLI if ever needed).
type Store interface {
	// Observe records an observation and says whether it must be
	// notified. Of concurrent observers of one new state, exactly one is
	// told to notify; a Lambda retry of the event whose publish did not
	// complete is told again; any other repeat is silent.
	Observe(ctx context.Context, o Observation) (Change, error)
	// MarkNotified records that the notification of the event was
	// published. Until then, a retry of the same event notifies again.
	MarkNotified(ctx context.Context, k Key, eventID string) error
	// Fail counts a failed evaluation of the key by the event and returns
	// the consecutive failures; a retry of an event already counted is not
	// counted again (counted false). A successful Observe resets the count.
	Fail(ctx context.Context, k Key, eventID string, now time.Time) (failures int, counted bool, err error)
	// Open lists the open findings (State.Open), at most limit of them,
	// and whether there were more.
	Open(ctx context.Context, limit int) ([]Record, bool, error)
	// Claim records that the event is notifying about a resource for a
	// cause (the CloudTrail event behind it, one configuration item, one
	// day's sweep) and reports whether it is the first to: overlapping
	// rules judge one change in separate invocations, and only the first
	// sends a message. A retry of the claiming event still owns it.
	Claim(ctx context.Context, c Cause, eventID string, now time.Time) (owned bool, err error)
}

// Cause names what a notification is about: one resource, and the change
// that made every rule's transition on it (see Store.Claim).
type Cause struct {
	Account, Region, Resource, ID string
}

// key is the cause's item key: it shares the table, never the index (a
// cause has no state).
func (c Cause) key() Key {
	return Key{Account: c.Account, Region: c.Region, Rule: "cause:" + c.ID, Resource: c.Resource}
}

// CauseTTL is how long a claimed cause is remembered: long enough for
// Config's change-triggered evaluations of every overlapping rule to
// arrive after the CloudTrail event.
const CauseTTL = 48 * time.Hour

// Lease is how long a transition's notification stays claimed by the
// invocation that wrote it: past it (longer than any Lambda invocation
// runs), a later event may take the claim over and notify, so an
// invocation that died between the write and the publish loses nothing.
const Lease = 15 * time.Minute

// TTL is how long an item outlives its last observation. Periodic Config
// evaluations refresh every item daily; an item no evaluation refreshed in
// TTL (a deleted resource, a removed rule) expires.
const TTL = 30 * 24 * time.Hour

// item is the stored form, shared by both implementations.
type item struct {
	Record
	Prev      State
	ClaimedAt time.Time
	FailEvent string
}

// step is what an observation does to the stored item.
type step int

const (
	touch  step = iota // same state, notified: refresh last seen, TTL, reset failures
	write              // a transition (or a new event of a per-event observation): rewrite the item
	resend             // the retry of the event that wrote the transition, whose publish did not complete
	claim              // take over a stale unpublished transition from another event
	wait               // another invocation is publishing this transition right now
)

// next is the whole transition logic, shared by both stores: what the
// observation o does to the stored item old (nil when none).
func next(old *item, o Observation) (step, Change) {
	if old == nil || old.State != o.State || (o.PerEvent && old.EventID != o.EventID) {
		prev := None
		if old != nil {
			prev = old.State
		}
		ev, ok := Notable(prev, o.State)
		if o.PerEvent && !ok && o.State != Compliant && o.State != None {
			// A new event in the same state: an alert, or a remediation
			// Rampart just applied again.
			ev, ok = perEventEvent(o.State), true
		}
		return write, Change{Prev: prev, Event: ev, Notify: ok}
	}
	if old.Notified {
		return touch, Change{Prev: o.State}
	}
	ev, _ := Notable(old.Prev, old.State)
	if o.PerEvent && ev == "" {
		ev = perEventEvent(old.State)
	}
	ch := Change{Prev: old.Prev, Event: ev, Notify: true}
	switch {
	case old.EventID == o.EventID:
		return resend, ch
	case o.Now.Sub(old.ClaimedAt) >= Lease:
		return claim, ch
	}
	return wait, Change{Prev: old.Prev}
}

func perEventEvent(s State) Event {
	switch s {
	case Remediated:
		return Fixed
	case Failed:
		return FixFailed
	case Exempt:
		return ExemptStarted
	default: // violation (none and compliant are not per-event states)
	}
	return NewViolation
}

// apply is the item that step s of observation o leaves (for write, claim
// and touch; resend and wait change nothing).
func apply(old *item, o Observation, s step, ch Change) item {
	var it item
	if old != nil {
		it = *old
	}
	it.Key = o.Key
	it.LastSeen = o.Now
	it.Failures, it.FailEvent = 0, ""
	it.Severity, it.Reason = o.Severity, report.Truncate(o.Reason, maxReason)
	switch s {
	case write:
		it.Prev, it.State, it.Since, it.ClaimedAt = ch.Prev, o.State, o.Now, o.Now
		it.EventID, it.Notified = o.EventID, !ch.Notify
	case claim:
		it.EventID, it.ClaimedAt = o.EventID, o.Now
	default: // touch: last seen only (resend and wait never get here)
	}
	return it
}

const maxReason = 512
