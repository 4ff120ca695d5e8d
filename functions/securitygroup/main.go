// Command securitygroup is the Lambda that keeps security groups closed to
// the world outside authorized ports.
package main

import (
	"github.com/rampart-aws/rampart/internal/lambdafn"
	"github.com/rampart-aws/rampart/internal/rules/sgopen"
)

func main() {
	lambdafn.Start(sgopen.OpenWorld, sgopen.RestrictedSSH, sgopen.RestrictedCommonPorts)
}
