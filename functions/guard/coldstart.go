package main

import (
	"log/slog"
	"os"

	"github.com/rampart-aws/rampart/internal/rules/selfprotection"
)

// init validates RAMPART_DEPLOYER_ARNS before lambdafn.Start (main.go is
// generated from the catalog; this file is not): a malformed value stops
// the cold start, as a malformed engine setting does.
func init() {
	if err := selfprotection.CheckEnv(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cold start", "error", err.Error())
		os.Exit(1)
	}
}
