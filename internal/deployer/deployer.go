// Package deployer tells the calls of the principals that deploy Rampart
// from anyone else's: RAMPART_DEPLOYER_ARNS, else the CDK bootstrap deploy
// and CloudFormation execution roles of the call's account and region. A
// call is the deployer's only when its session was issued by one of those
// role ARNs, exactly: a name, a user agent or "invoked by CloudFormation"
// (anyone can deploy a stack) proves nothing.
package deployer

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Env lists the IAM role ARNs that deploy Rampart, comma-separated.
const Env = "RAMPART_DEPLOYER_ARNS"

// Roles are the deploying role ARNs; nil: the CDK bootstrap roles.
type Roles []string

// FromEnv reads Env (see Parse).
func FromEnv() (Roles, error) { return Parse(os.Getenv(Env)) }

// Parse reads a comma-separated list of IAM role ARNs: nil when empty. A
// value that is not an IAM role ARN is an error: a typo must not silently
// let nobody (or everybody) through.
func Parse(v string) (Roles, error) {
	if v = strings.TrimSpace(v); v == "" {
		return nil, nil
	}
	var out Roles
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		a, err := arn.Parse(s)
		if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
			return nil, fmt.Errorf("%s: %q is not an IAM role ARN", Env, s)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s names no role", Env)
	}
	return out, nil
}

// For are the role ARNs that deploy in the call's account and region.
func (r Roles) For(call *trigger.APICall) []string {
	if r != nil {
		return r
	}
	acct, region := call.Account, call.Region
	if acct == "" {
		acct = call.Actor.AccountID
	}
	var out []string
	for _, kind := range []string{"deploy", "cfn-exec"} {
		out = append(out, arn.ARN{Partition: awsclient.PartitionOf(region), Service: "iam", AccountID: acct,
			Resource: fmt.Sprintf("role/cdk-hnb659fds-%s-role-%s-%s", kind, acct, region)}.String())
	}
	return out
}

// Made reports whether the call was made in a session of a deploying role
// (the session issuer's full ARN, exactly), and which.
func (r Roles) Made(call *trigger.APICall) (string, bool) {
	a := call.Actor
	if a.Type != "AssumedRole" || a.IssuerARN == "" {
		return "", false
	}
	if slices.Contains(r.For(call), a.IssuerARN) {
		return a.IssuerARN, true
	}
	return "", false
}
