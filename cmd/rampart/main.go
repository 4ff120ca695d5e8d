// Command rampart is the local face of Rampart: list the rule catalog, plan
// what an event implies (offline, no credentials), run the very engine the
// Lambdas run against whatever AWS the environment names, and undo what a
// run did.
//
//	rampart rules [--json|--markdown]
//	rampart plan  [--json] FILE|-
//	rampart run   [--mode enforce|report] [--json] FILE|-
//	rampart undo  [--json] FILE|-      (FILE: the JSON output of run)
//	rampart redrive --queue URL [--function NAME|ARN] [--dry-run] [--max N] [--json]
//	rampart doctor [--regions R1,R2] [--json]
//	rampart gen [--check]               (in the repository: make generate)
//
// Exit codes: 0 success (also when there is nothing to do), 1 a remediation
// (or undo) failed, 2 bad input or usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/report"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitBadUsed = 2
)

// deadline bounds every command: an AWS call that hangs ends the CLI with an
// error instead of never.
const deadline = 15 * time.Minute

func main() {
	// Ctrl-C (or SIGTERM) cancels the AWS calls in flight.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, deadline)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	cancel()
	stop()
	os.Exit(code)
}

const usage = `usage:
  rampart rules [--json|--markdown]             the rule catalog
  rampart plan  [--json] FILE|-                 what an event implies (offline, no AWS call)
  rampart run   [--mode enforce|report] [--json] FILE|-
                                                run the engine against the AWS the environment names
  rampart undo  [--json] FILE|-                 revert what a run applied (FILE: run's --json output)
  rampart redrive --queue URL [--function NAME|ARN] [--dry-run] [--max N] [--json]
                                                give a function's failed events back to it
  rampart doctor [--regions R1,R2] [--json]     read-only checks of a deployed account
  rampart gen [--check]                         regenerate functions/*/main.go, docs/rules/*.md and the
                                                README catalog from the rule metadata (make generate)
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadUsed
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "redrive":
		return redriveCmd(ctx, rest, stdout, stderr)
	case "doctor":
		return doctorCmd(ctx, rest, stdout, stderr, getenv)
	case "gen":
		return genCmd(rest, stdout, stderr)
	}
	fs := flag.NewFlagSet("rampart "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	var markdown *bool
	var mode *string
	switch cmd {
	case "rules":
		markdown = fs.Bool("markdown", false, "print the README catalog table")
	case "run":
		mode = fs.String("mode", "", "enforce or report (default: RAMPART_MODE, else report)")
	case "plan", "undo":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "rampart: unknown command %q\n%s", cmd, usage)
		return exitBadUsed
	}
	if err := fs.Parse(rest); err != nil {
		return exitBadUsed
	}
	if cmd == "rules" {
		return rules(stdout, *asJSON, *markdown)
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "rampart %s: want exactly one FILE or - (stdin)\n", cmd)
		return exitBadUsed
	}
	raw, err := readInput(fs.Arg(0), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "rampart %s: %v\n", cmd, err)
		return exitBadUsed
	}
	cfg, err := engine.FromEnv(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "rampart %s: %v\n", cmd, err)
		return exitBadUsed
	}
	if mode != nil && *mode != "" {
		m, err := engine.ParseMode(*mode)
		if err != nil {
			fmt.Fprintf(stderr, "rampart run: %v\n", err)
			return exitBadUsed
		}
		cfg.Mode, cfg.RuleModes = m, nil
	}
	var sess *awsclient.Session
	if cmd == "plan" {
		sess = awsclient.NewOffline(getenv("AWS_REGION"))
	} else if sess, err = sdkconfig.Load(ctx); err != nil {
		fmt.Fprintf(stderr, "rampart %s: %v\n", cmd, err)
		return exitFailed
	}
	e, err := engine.New(cfg, sess, catalog.All()...)
	if err != nil {
		fmt.Fprintf(stderr, "rampart %s: %v\n", cmd, err)
		return exitBadUsed
	}
	// Decision records go to stderr so stdout stays the result.
	e.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	if getenv("RAMPART_LOG") != "" {
		e.Log = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	e.Metrics = nil
	if cmd == "undo" {
		return undo(ctx, e, raw, stdout, stderr, *asJSON)
	}
	res, err := e.Handle(ctx, raw)
	code := exitOK
	switch {
	case errors.Is(err, trigger.ErrInput):
		fmt.Fprintf(stderr, "rampart %s: %v\n", cmd, err)
		return exitBadUsed
	case errors.Is(err, engine.ErrFailed):
		code = exitFailed
	case err != nil:
		fmt.Fprintf(stderr, "rampart %s: %v\n", cmd, err)
		return exitFailed
	}
	if *asJSON {
		writeJSON(stdout, res)
	} else {
		printDecisions(stdout, res.Decisions)
	}
	return code
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func printDecisions(w io.Writer, ds []report.Decision) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "nothing to decide: the payload concerns no resource any rule here judges")
	}
	for _, d := range ds {
		id := d.Rule
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(w, "%-14s %-28s %s\n", strings.ToUpper(string(d.Verdict)), id, d.Resource)
		fmt.Fprintf(w, "  %s\n", d.Reason)
		for _, a := range d.Actions {
			fmt.Fprintf(w, "  %-8s %s %s  %s\n", a.Outcome, a.API, a.Target, string(a.Params))
			if a.Error != "" {
				fmt.Fprintf(w, "           error: %s\n", a.Error)
			}
			if a.Retried != "" {
				fmt.Fprintf(w, "           retried: %s\n", a.Retried)
			}
			if a.Undo != nil {
				fmt.Fprintf(w, "           undo: %s %s\n", a.Undo.API, string(a.Undo.Params))
			}
		}
		if d.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", d.Error)
		}
	}
}

func undo(ctx context.Context, e *engine.Engine, raw []byte, stdout, stderr io.Writer, asJSON bool) int {
	var res engine.Result
	if err := json.Unmarshal(raw, &res); err != nil || res.Decisions == nil {
		fmt.Fprintf(stderr, "rampart undo: want the JSON output of `rampart run --json` ({\"decisions\": [...]}): %v\n", err)
		return exitBadUsed
	}
	done, err := e.Undo(ctx, res.Decisions)
	if asJSON {
		writeJSON(stdout, map[string]any{"undone": done})
	} else {
		if len(done) == 0 {
			fmt.Fprintln(stdout, "nothing to undo: no applied action with an inverse")
		}
		for _, a := range done {
			fmt.Fprintf(stdout, "%-8s %s %s  %s\n", a.Outcome, a.API, a.Target, string(a.Params))
			if a.Error != "" {
				fmt.Fprintf(stdout, "         error: %s\n", a.Error)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "rampart undo: %v\n", err)
		return exitFailed
	}
	return exitOK
}
