package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// widgets is a rule on "aws.widgets" events whose detail pattern selects
// only broken widgets.
var widgets = rule.Define(rule.Spec[bool, struct{}]{
	Meta: &rule.Meta{ID: "widgets", Title: "w", Severity: rule.High, ResourceType: "AWS::Test::Widget", Function: "test",
		Events:      []rule.EventTrigger{{Source: "aws.widgets", DetailType: "Widget Change", Detail: map[string]any{"state": []any{"broken"}}}},
		ReadActions: []string{"test:Describe"}},
	OnEvent: func(ev *trigger.Event, _ struct{}) ([]rule.Target, error) {
		return []rule.Target{{Type: "AWS::Test::Widget", ID: "w-1"}}, nil
	},
	Observe: func(context.Context, rule.Env, rule.Target, struct{}) (bool, error) { return true, nil },
	Plan:    func(rule.Target, struct{}) (bool, error) { return true, nil },
	Judge: func(broken bool, _ rule.Target, _ struct{}, _ rule.Facts) rule.Finding {
		return rule.Finding{Verdict: rule.Violation, Reason: "broken"}
	},
})

func widgetEvent(state string) []byte {
	return []byte(`{"version":"0","id":"ev-1","detail-type":"Widget Change","source":"aws.widgets","account":"123456789012",
		"time":"2026-03-15T06:52:09Z","region":"us-east-1","resources":[],"detail":{"state":"` + state + `"}}`)
}

// The engine applies a trigger's detail pattern too: an event of the
// rule's type whose detail the pattern does not select is ignored, never
// handed to the rule; an event of a type no rule takes is bad input.
func TestServiceEventsHonourTheDetailPattern(t *testing.T) {
	e, err := engine.New(engine.Config{}, awsclient.NewOffline("us-east-1"), widgets)
	if err != nil {
		t.Fatal(err)
	}
	e.Log, e.Metrics = slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard
	res, err := e.Handle(context.Background(), widgetEvent("broken"))
	if err != nil || len(res.Decisions) != 1 || res.Decisions[0].Verdict != rule.Violation || res.Decisions[0].Resource != "w-1" {
		t.Fatalf("broken: %+v, %v", res, err)
	}
	res, err = e.Handle(context.Background(), widgetEvent("fine"))
	if err != nil || len(res.Decisions) != 1 || res.Decisions[0].Verdict != rule.Ignored ||
		res.Decisions[0].Reason != "the event's detail does not match the rule's event pattern" || res.Decisions[0].Rule != "widgets" {
		t.Fatalf("fine: %+v, %v", res, err)
	}
	other := []byte(`{"version":"0","id":"ev-2","detail-type":"Gadget Change","source":"aws.widgets","account":"123456789012",
		"time":"2026-03-15T06:52:09Z","region":"us-east-1","resources":[],"detail":{"state":"broken"}}`)
	if res, err := e.Handle(context.Background(), other); !errors.Is(err, trigger.ErrInput) {
		t.Fatalf("another type: %+v, %v", res, err)
	}
}
