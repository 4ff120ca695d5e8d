package notifystate

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is a Store in a map, with the same transition logic as Dynamo: for
// unit tests, and wherever a process lives long enough to remember.
type Memory struct {
	mu    sync.Mutex
	items map[string]*item
}

// NewMemory is an empty in-memory store.
func NewMemory() *Memory { return &Memory{items: map[string]*item{}} }

// Observe implements Store.
func (m *Memory) Observe(_ context.Context, o Observation) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.items[o.Key.ID()]
	s, ch := next(old, o)
	switch s {
	case touch, write, claim:
		it := apply(old, o, s, ch)
		m.items[o.Key.ID()] = &it
	default: // resend, wait: nothing to store
	}
	return ch, nil
}

// MarkNotified implements Store.
func (m *Memory) MarkNotified(_ context.Context, k Key, eventID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it := m.items[k.ID()]; it != nil && it.EventID == eventID {
		it.Notified = true
	}
	return nil
}

// Fail implements Store.
func (m *Memory) Fail(_ context.Context, k Key, eventID string, now time.Time) (int, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[k.ID()]
	if it == nil {
		it = &item{Record: Record{Key: k}}
		m.items[k.ID()] = it
	}
	if it.FailEvent == eventID {
		return it.Failures, false, nil
	}
	it.Failures++
	it.FailEvent, it.LastSeen = eventID, now
	return it.Failures, true, nil
}

// Open implements Store.
func (m *Memory) Open(_ context.Context, limit int) ([]Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, it := range m.items {
		if it.State.Open() {
			out = append(out, it.Record)
		}
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Key.ID(), b.Key.ID()) })
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, c Cause, eventID string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := c.key().ID()
	if it := m.items[id]; it != nil && it.EventID != eventID && now.Sub(it.LastSeen) <= CauseTTL {
		return false, nil
	}
	m.items[id] = &item{Record: Record{Key: c.key(), EventID: eventID, LastSeen: now}}
	return true, nil
}

// Get is the stored record of k, for tests.
func (m *Memory) Get(k Key) (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it := m.items[k.ID()]; it != nil {
		return it.Record, true
	}
	return Record{}, false
}
