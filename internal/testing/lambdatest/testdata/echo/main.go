// Command echo is a tiny Lambda function that exercises the lambdatest
// harness without Rampart's AWS dependencies: it echoes, fails, sleeps or
// reports an environment variable as the payload asks, and fails its cold
// start when ECHO_FAIL_INIT is set.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Echo    any    `json:"echo"`
	Fail    string `json:"fail"`
	SleepMS int    `json:"sleepMs"`
	Env     string `json:"env"`
}

func handle(ctx context.Context, r request) (any, error) {
	if r.SleepMS > 0 {
		time.Sleep(time.Duration(r.SleepMS) * time.Millisecond)
	}
	switch {
	case r.Fail != "":
		return nil, errors.New(r.Fail)
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		return map[string]any{"value": v, "set": ok}, nil
	}
	return map[string]any{"echo": r.Echo}, nil
}

func main() {
	if os.Getenv("ECHO_FAIL_INIT") != "" {
		fmt.Fprintln(os.Stderr, "init failed on purpose")
		os.Exit(1)
	}
	lambda.Start(handle)
}
