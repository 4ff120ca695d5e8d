// Command demo is `make demo`: Rampart on an emulated AWS account, with
// nothing to set up. It builds the Lambda functions for this machine, starts
// moto, seeds an insecure account, replays real-shaped events through the
// real bootstrap binaries under the AWS Lambda Runtime Interface Emulator in
// enforce mode, and prints what was wrong, what Rampart did, and each
// resource before and after. See docs/demo.md; the work is in internal/testing/demo.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rampart-aws/rampart/internal/testing/demo"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := demo.Run(ctx, demo.Options{Out: os.Stdout, Progress: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	if n := sum.Failed(); n > 0 {
		fmt.Fprintf(os.Stderr, "demo: %d scenarios did not end as they must\n", n)
		return 1
	}
	return 0
}
