// Command signin is the Lambda that judges AWS Management Console sign-ins:
// root sign-ins and IAM-user sign-ins without MFA are alerted, failed
// sign-ins are recorded. It runs in us-east-1, where sign-in events arrive.
package main

import (
	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/consolesignin"
)

func main() {
	lambdafn.Start(consolesignin.Rule)
}
