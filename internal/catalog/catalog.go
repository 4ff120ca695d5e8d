// Package catalog is the registry of every Rampart rule: one line per rule.
// The CLI lists it, the infrastructure derives its wiring from it and the
// tests walk it. Lambda functions do not import it: each links only its own
// rules, which keeps every binary small.
//
// Adding a rule: add its line to All(), then run `make generate`, which
// writes functions/<function>/main.go, docs/rules/<id>.md and the README's
// catalog from the metadata (package gen).
package catalog

//go:generate go run ../../cmd/rampart gen

import (
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/rules/cisalarms"
	"github.com/rampart-aws/rampart/internal/rules/cloudtrailenabled"
	"github.com/rampart-aws/rampart/internal/rules/cloudtrailintegrity"
	"github.com/rampart-aws/rampart/internal/rules/cloudtrailkeyenabled"
	"github.com/rampart-aws/rampart/internal/rules/configtampering"
	"github.com/rampart-aws/rampart/internal/rules/consolesignin"
	"github.com/rampart-aws/rampart/internal/rules/detectorsenabled"
	"github.com/rampart-aws/rampart/internal/rules/ebsattachedencrypted"
	"github.com/rampart-aws/rampart/internal/rules/ebsdefaultencryption"
	"github.com/rampart-aws/rampart/internal/rules/ec2imdsv2"
	"github.com/rampart-aws/rampart/internal/rules/ec2instanceinvpc"
	"github.com/rampart-aws/rampart/internal/rules/eipattached"
	"github.com/rampart-aws/rampart/internal/rules/exemptiontag"
	"github.com/rampart-aws/rampart/internal/rules/exposedaccesskeys"
	"github.com/rampart-aws/rampart/internal/rules/regionscovered"
	"github.com/rampart-aws/rampart/internal/rules/requiredtags"
	"github.com/rampart-aws/rampart/internal/rules/rootaccesskeys"
	"github.com/rampart-aws/rampart/internal/rules/s3publicaccess"
	"github.com/rampart-aws/rampart/internal/rules/securityfindings"
	"github.com/rampart-aws/rampart/internal/rules/selfprotection"
	"github.com/rampart-aws/rampart/internal/rules/sgopen"
	"github.com/rampart-aws/rampart/internal/rules/stalecredentials"
	"github.com/rampart-aws/rampart/internal/rules/trailbuckettampering"
	"github.com/rampart-aws/rampart/internal/rules/vpcflowlogs"
)

// All is every registered rule, in catalog order.
func All() []rule.Rule {
	return []rule.Rule{
		sgopen.OpenWorld,
		sgopen.RestrictedSSH,
		sgopen.RestrictedCommonPorts,
		cloudtrailintegrity.Rule,
		cloudtrailkeyenabled.Rule,
		consolesignin.Rule,
		configtampering.Rule,
		stalecredentials.Rule,
		rootaccesskeys.Rule,
		exposedaccesskeys.Rule,
		ec2instanceinvpc.Rule,
		ec2imdsv2.Rule,
		ebsattachedencrypted.Rule,
		ebsdefaultencryption.Rule,
		cloudtrailenabled.Rule,
		eipattached.Rule,
		requiredtags.Rule,
		vpcflowlogs.Rule,
		s3publicaccess.AccountBlock,
		s3publicaccess.BucketAccess,
		trailbuckettampering.Rule,
		selfprotection.Rule,
		regionscovered.Rule,
		exemptiontag.Rule,
		cisalarms.Rule,
		securityfindings.Rule,
		detectorsenabled.Rule,
	}
}

// Functions maps each function (directory under functions/) to its rules.
func Functions() map[string][]rule.Rule {
	out := map[string][]rule.Rule{}
	for _, r := range All() {
		fn := r.Meta().Function
		out[fn] = append(out[fn], r)
	}
	return out
}
