// Command signin is the Lambda that judges AWS Management Console sign-ins:
// root sign-ins and IAM-user sign-ins without MFA are alerted, failed
// sign-ins are recorded. It runs in us-east-1, where sign-in events arrive.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/signin"
)

func main() {
	lambdafn.Start(signin.Rule)
}
