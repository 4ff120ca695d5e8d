// Command securitygroup is the Lambda that keeps security groups closed to
// the world outside authorized ports.
package main

import (
	"github.com/rampart-aws/rampart/pkg/lambdafn"
	"github.com/rampart-aws/rampart/pkg/rules/sgopen"
)

func main() {
	lambdafn.Start(sgopen.OpenWorld, sgopen.RestrictedSSH, sgopen.RestrictedCommonPorts)
}
