// Command guard is the Lambda that keeps Rampart itself in service: it alerts
// on changes to Rampart's own rules, functions, Config rules, topic and
// stacks, re-enables its disabled EventBridge rules and removes a zero
// reserved concurrency. It carries no other rule, so disabling the functions
// it protects does not disable it.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/selfprotect"
)

func main() {
	lambdafn.Start(selfprotect.Rule)
}
