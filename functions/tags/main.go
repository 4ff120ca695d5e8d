// Command tags is the Lambda that checks resources for the required tags and,
// when the deployment sets defaults, adds the missing ones; and that reports
// every change to the exemption tag (exemption-tag).
package main

import (
	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/exemptiontag"
	"github.com/rampart-aws/rampart/internal/rules/requiredtags"
)

func main() {
	lambdafn.Start(requiredtags.Rule, exemptiontag.Rule)
}
