// Package catalog is the registry of every Rampart rule: one line per rule.
// The CLI lists it, the infrastructure derives its wiring from it and the
// tests walk it. Lambda functions do not import it: each links only its own
// rules, which keeps every binary small.
package catalog

import (
	"github.com/rampart-aws/rampart/pkg/rule"
	"github.com/rampart-aws/rampart/pkg/rules/configtamper"
	"github.com/rampart-aws/rampart/pkg/rules/ebsdefault"
	"github.com/rampart-aws/rampart/pkg/rules/ebsencrypted"
	"github.com/rampart-aws/rampart/pkg/rules/eipattached"
	"github.com/rampart-aws/rampart/pkg/rules/exempttag"
	"github.com/rampart-aws/rampart/pkg/rules/instancevpc"
	"github.com/rampart-aws/rampart/pkg/rules/regioncoverage"
	"github.com/rampart-aws/rampart/pkg/rules/requiredtags"
	"github.com/rampart-aws/rampart/pkg/rules/rootkeys"
	"github.com/rampart-aws/rampart/pkg/rules/s3public"
	"github.com/rampart-aws/rampart/pkg/rules/selfprotect"
	"github.com/rampart-aws/rampart/pkg/rules/sgopen"
	"github.com/rampart-aws/rampart/pkg/rules/signin"
	"github.com/rampart-aws/rampart/pkg/rules/stalecreds"
	"github.com/rampart-aws/rampart/pkg/rules/trailbucket"
	"github.com/rampart-aws/rampart/pkg/rules/trailenabled"
	"github.com/rampart-aws/rampart/pkg/rules/trailintegrity"
	"github.com/rampart-aws/rampart/pkg/rules/vpcflowlogs"
)

// All is every registered rule, in catalog order.
func All() []rule.Rule {
	return []rule.Rule{
		sgopen.OpenWorld,
		sgopen.RestrictedSSH,
		sgopen.RestrictedCommonPorts,
		trailintegrity.Rule,
		signin.Rule,
		configtamper.Rule,
		stalecreds.Rule,
		rootkeys.Rule,
		instancevpc.Rule,
		ebsencrypted.Rule,
		ebsdefault.Rule,
		trailenabled.Rule,
		eipattached.Rule,
		requiredtags.Rule,
		vpcflowlogs.Rule,
		s3public.AccountBlock,
		s3public.BucketAccess,
		trailbucket.Rule,
		selfprotect.Rule,
		regioncoverage.Rule,
		exempttag.Rule,
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
