package report

import (
	"context"
	"log/slog"
)

// Log writes one structured record per decision: rule, resource, verdict,
// mode, actor, event and every action with its outcome.
func Log(ctx context.Context, l *slog.Logger, d *Decision) {
	level := slog.LevelInfo
	switch {
	case d.Failed():
		level = slog.LevelError
	case d.Verdict == "violation":
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("rule", d.Rule),
		slog.String("resource", d.Resource),
		slog.String("verdict", string(d.Verdict)),
		slog.String("reason", d.Reason),
		slog.String("mode", d.Mode),
		slog.String("trigger", string(d.Trigger)),
	}
	if d.EventID != "" {
		attrs = append(attrs, slog.String("eventId", d.EventID))
	}
	if c := d.Call; c != nil {
		attrs = append(attrs,
			slog.String("eventName", c.EventName),
			slog.String("actor", c.Actor.Display()),
			slog.String("sourceIp", c.SourceIP))
	}
	if len(d.Actions) > 0 {
		acts := make([]any, 0, len(d.Actions))
		for _, a := range d.Actions {
			acts = append(acts, map[string]any{"api": a.API, "target": a.Target, "outcome": a.Outcome, "error": a.Error})
		}
		attrs = append(attrs, slog.Any("actions", acts))
	}
	if d.Error != "" {
		attrs = append(attrs, slog.String("error", d.Error))
	}
	l.LogAttrs(ctx, level, "decision", attrs...)
}
