package main

// `rampart doctor`: read-only checks that a deployed Rampart can see and act,
// with the standard SDK credentials. Each check passes, warns or fails, says
// why and how to fix it; exit 1 when any fails. It calls only Describe/Get/
// List APIs and iam:SimulatePrincipalPolicy (which changes nothing).

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
	"github.com/rampart-aws/rampart/internal/catalog"
	"github.com/rampart-aws/rampart/internal/rule"
)

// Check statuses.
const (
	checkPass = "pass"
	checkWarn = "warn"
	checkFail = "fail"
)

// topicName is the deployment's notification topic (infra/stack.go).
const topicName = "rampart-notifications"

// check is one finding of the doctor.
type check struct {
	Check   string `json:"check"`
	Region  string `json:"region,omitempty"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

type doctor struct {
	cfg     aws.Config
	regions []string
	// regionsAll: the deployment covers every enabled region.
	regionsAll bool
	// noEmail: the settings say no e-mail subscription is wanted.
	noEmail bool
	params  map[string]map[string]string
	checks  []check
}

func (d *doctor) add(name, region, status, msg, fix string) {
	d.checks = append(d.checks, check{Check: name, Region: region, Status: status, Message: msg, Fix: fix})
}

func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("rampart doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	regionsFlag := fs.String("regions", "", "regions Rampart is deployed to, comma-separated (default: RAMPART_REGIONS, else cdk.json's rampart:regions, else AWS_REGION)")
	cdkJSON := fs.String("cdk-json", "cdk.json", "the deployment's settings, for rampart:regions and rampart:notificationEmail")
	if err := fs.Parse(args); err != nil {
		return exitBadUsed
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: rampart doctor [--regions R1,R2] [--cdk-json FILE] [--json]")
		return exitBadUsed
	}
	settings, err := readSettings(*cdkJSON)
	if err != nil {
		fmt.Fprintf(stderr, "rampart doctor: %v\n", err)
		return exitBadUsed
	}
	sess, err := sdkconfig.Load(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "rampart doctor: %v\n", err)
		return exitFailed
	}
	d := &doctor{cfg: sess.Config(), noEmail: strings.EqualFold(settings.NotificationEmail, "none"), params: settings.Params}
	switch {
	case *regionsFlag != "":
		d.regions = splitList(*regionsFlag)
	case getenv("RAMPART_REGIONS") != "":
		d.regions = splitList(getenv("RAMPART_REGIONS"))
	case settings.RegionsAll:
		d.regionsAll = true // every enabled region: resolved by checkRegions
	case len(settings.Regions) > 0:
		d.regions = settings.Regions
	default:
		d.regions = []string{sess.Region}
	}
	d.run(ctx)
	code := exitOK
	for _, c := range d.checks {
		if c.Status == checkFail {
			code = exitFailed
		}
	}
	if *asJSON {
		writeJSON(stdout, map[string]any{"regions": d.regions, "checks": d.checks})
		return code
	}
	n := map[string]int{}
	for _, c := range d.checks {
		n[c.Status]++
		where := c.Region
		if where == "" {
			where = "account"
		}
		fmt.Fprintf(stdout, "%-4s  %-12s %-14s %s\n", strings.ToUpper(c.Status), c.Check, where, c.Message)
		if c.Fix != "" && c.Status != checkPass {
			fmt.Fprintf(stdout, "      fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d warnings, %d failed\n", n[checkPass], n[checkWarn], n[checkFail])
	return code
}

// settings are the cdk.json context keys the doctor reads.
type settings struct {
	Regions []string
	// RegionsAll: rampart:regions is "all" (every region the account has
	// enabled, resolved at deploy time).
	RegionsAll        bool
	NotificationEmail string
	// Params are rampart:params: they decide which write actions the
	// function roles hold (rule.Meta.ParamWrites).
	Params map[string]map[string]string
}

// readSettings reads cdk.json's rampart:regions and rampart:notificationEmail;
// a missing file is no settings.
func readSettings(path string) (settings, error) {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return settings{}, nil
	}
	if err != nil {
		return settings{}, err
	}
	var doc struct {
		Context struct {
			Regions json.RawMessage              `json:"rampart:regions"`
			Email   string                       `json:"rampart:notificationEmail"`
			Params  map[string]map[string]string `json:"rampart:params"`
		} `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return settings{}, fmt.Errorf("%s: %w", path, err)
	}
	out := settings{NotificationEmail: doc.Context.Email, Params: doc.Context.Params}
	var all string
	switch {
	case len(doc.Context.Regions) == 0:
	case json.Unmarshal(doc.Context.Regions, &all) == nil && all == "all":
		out.RegionsAll = true
	default:
		if err := json.Unmarshal(doc.Context.Regions, &out.Regions); err != nil {
			return settings{}, fmt.Errorf("%s: rampart:regions: want \"all\" or a list of regions: %w", path, err)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// regional returns a copy of the configuration for region.
func (d *doctor) regional(region string) aws.Config {
	c := d.cfg.Copy()
	c.Region = region
	return c
}

func (d *doctor) run(ctx context.Context) {
	id, err := sts.NewFromConfig(d.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		d.add("credentials", "", checkFail, fmt.Sprintf("sts:GetCallerIdentity: %v", err), "set AWS credentials (AWS_PROFILE, SSO login, …) for the account Rampart is deployed to")
		return
	}
	d.add("credentials", "", checkPass, fmt.Sprintf("account %s as %s", aws.ToString(id.Account), aws.ToString(id.Arn)), "")
	d.checkRegions(ctx)
	for _, r := range d.regions {
		d.checkTrail(ctx, r)
		d.checkRecorder(ctx, r)
		d.checkTopic(ctx, r)
		d.checkEnabled(ctx, r)
	}
	d.checkRoles(ctx) // one role per function serves every region
}

// checkRegions: every region the account has enabled has Rampart, and every
// region Rampart is configured for is enabled.
func (d *doctor) checkRegions(ctx context.Context) {
	out, err := ec2.NewFromConfig(d.cfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		d.add("regions", "", checkFail, fmt.Sprintf("ec2:DescribeRegions: %v", err), "grant ec2:DescribeRegions to the doctor's credentials")
		return
	}
	var enabled []string
	for _, r := range out.Regions {
		if s := aws.ToString(r.OptInStatus); s == "" || s == "opt-in-not-required" || s == "opted-in" {
			enabled = append(enabled, aws.ToString(r.RegionName))
		}
	}
	sort.Strings(enabled)
	if d.regionsAll {
		d.regions = enabled // "all": each enabled region must have Rampart (the checks below say where it is missing)
	}
	var uncovered, unknown []string
	for _, r := range enabled {
		if !slices.Contains(d.regions, r) {
			uncovered = append(uncovered, r)
		}
	}
	for _, r := range d.regions {
		if !slices.Contains(enabled, r) {
			unknown = append(unknown, r)
		}
	}
	if len(unknown) > 0 {
		d.add("regions", "", checkFail, fmt.Sprintf("configured for regions the account has not enabled: %s", strings.Join(unknown, ", ")),
			"fix rampart:regions in cdk.json (or --regions)")
	}
	if len(uncovered) > 0 {
		d.add("regions", "", checkWarn, fmt.Sprintf("%d enabled regions have no Rampart, a change there goes unseen: %s", len(uncovered), strings.Join(uncovered, ", ")),
			"add them to rampart:regions and deploy, or disable the regions (or deny them with an SCP)")
	} else if len(unknown) == 0 {
		d.add("regions", "", checkPass, fmt.Sprintf("all %d enabled regions covered", len(enabled)), "")
	}
}

// checkTrail: EventBridge receives CloudTrail management events only while a
// trail that covers the region is logging; the event history alone delivers
// nothing to EventBridge.
func (d *doctor) checkTrail(ctx context.Context, region string) {
	const fix = "create a multi-region trail with management events and start it (aws cloudtrail create-trail --is-multi-region-trail …; aws cloudtrail start-logging)"
	ct := cloudtrail.NewFromConfig(d.regional(region))
	out, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		d.add("trail", region, checkFail, fmt.Sprintf("cloudtrail:DescribeTrails: %v", err), fix)
		return
	}
	var notLogging, failing []string
	for _, t := range out.TrailList {
		if !aws.ToBool(t.IsMultiRegionTrail) && aws.ToString(t.HomeRegion) != region {
			continue
		}
		name := aws.ToString(t.Name)
		st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: t.TrailARN})
		if err != nil {
			failing = append(failing, fmt.Sprintf("%s (%v)", name, err))
			continue
		}
		switch {
		case !aws.ToBool(st.IsLogging):
			notLogging = append(notLogging, name)
		case aws.ToString(st.LatestDeliveryError) != "":
			failing = append(failing, fmt.Sprintf("%s delivers no logs: %s", name, aws.ToString(st.LatestDeliveryError)))
		default:
			d.add("trail", region, checkPass, fmt.Sprintf("trail %s is logging and delivering", name), "")
			return
		}
	}
	msg := "no trail covers the region: EventBridge gets no CloudTrail events (the event history is not enough)"
	if len(notLogging)+len(failing) > 0 {
		msg = "no trail is logging and delivering here: " + strings.Join(append(prefixAll("not logging: ", notLogging), failing...), "; ")
	}
	d.add("trail", region, checkFail, msg, fix)
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// neededTypes are the resource types the catalog's Config rules evaluate.
func neededTypes() []string {
	var out []string
	for _, r := range catalog.All() {
		if c := r.Meta().Config; c != nil {
			for _, t := range c.ResourceTypes {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// recorded reports which of the needed types a recording group leaves out.
func unrecorded(g *cfgtypes.RecordingGroup, needed []string) []string {
	if g == nil {
		return needed
	}
	var missing []string
	for _, t := range needed {
		global := strings.HasPrefix(t, "AWS::IAM::")
		ok := false
		switch {
		case g.RecordingStrategy != nil && g.RecordingStrategy.UseOnly == cfgtypes.RecordingStrategyTypeExclusionByResourceTypes:
			ok = g.ExclusionByResourceTypes == nil || !slices.Contains(resourceTypeStrings(g.ExclusionByResourceTypes.ResourceTypes), t)
		case g.AllSupported:
			ok = !global || g.IncludeGlobalResourceTypes
		default:
			ok = slices.Contains(resourceTypeStrings(g.ResourceTypes), t)
		}
		if !ok {
			missing = append(missing, t)
		}
	}
	return missing
}

func resourceTypeStrings(ts []cfgtypes.ResourceType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// checkRecorder: the Config recorder records, and records what the rules need.
func (d *doctor) checkRecorder(ctx context.Context, region string) {
	const fix = "set up AWS Config in the region (docs/deploy.md: recorder and delivery channel) and start the recorder"
	cs := configservice.NewFromConfig(d.regional(region))
	recs, err := cs.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		d.add("config", region, checkFail, fmt.Sprintf("config:DescribeConfigurationRecorders: %v", err), fix)
		return
	}
	if len(recs.ConfigurationRecorders) == 0 {
		d.add("config", region, checkFail, "no Config recorder: the Config rules are never evaluated on change", fix)
		return
	}
	status, err := cs.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
	if err != nil {
		d.add("config", region, checkFail, fmt.Sprintf("config:DescribeConfigurationRecorderStatus: %v", err), fix)
		return
	}
	needed := neededTypes()
	for _, rec := range recs.ConfigurationRecorders {
		name := aws.ToString(rec.Name)
		i := slices.IndexFunc(status.ConfigurationRecordersStatus, func(s cfgtypes.ConfigurationRecorderStatus) bool { return aws.ToString(s.Name) == name })
		switch {
		case i < 0 || !status.ConfigurationRecordersStatus[i].Recording:
			d.add("config", region, checkFail, fmt.Sprintf("recorder %s is not recording", name), "aws configservice start-configuration-recorder --configuration-recorder-name "+name)
		case status.ConfigurationRecordersStatus[i].LastStatus == cfgtypes.RecorderStatusFailure:
			d.add("config", region, checkFail, fmt.Sprintf("recorder %s last failed: %s", name, aws.ToString(status.ConfigurationRecordersStatus[i].LastErrorMessage)), "check the delivery channel's bucket and the recorder's role")
		default:
			if missing := unrecorded(rec.RecordingGroup, needed); len(missing) > 0 {
				d.add("config", region, checkFail, fmt.Sprintf("recorder %s does not record %s, which Rampart's Config rules evaluate", name, strings.Join(missing, ", ")),
					"record all supported resource types, or add these to the recording group")
			} else {
				d.add("config", region, checkPass, fmt.Sprintf("recorder %s records the %d resource types the rules need", name, len(needed)), "")
			}
		}
	}
}

// checkTopic: the notification topic has a confirmed subscription.
func (d *doctor) checkTopic(ctx context.Context, region string) {
	c := sns.NewFromConfig(d.regional(region))
	var topic string
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() && topic == "" {
		page, err := p.NextPage(ctx)
		if err != nil {
			d.add("topic", region, checkFail, fmt.Sprintf("sns:ListTopics: %v", err), "")
			return
		}
		for _, t := range page.Topics {
			if strings.HasSuffix(aws.ToString(t.TopicArn), ":"+topicName) {
				topic = aws.ToString(t.TopicArn)
			}
		}
	}
	if topic == "" {
		d.add("topic", region, checkFail, "no topic "+topicName+": Rampart is not deployed here", "make deploy")
		return
	}
	confirmed, pending := 0, 0
	sp := sns.NewListSubscriptionsByTopicPaginator(c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			d.add("topic", region, checkFail, fmt.Sprintf("sns:ListSubscriptionsByTopic: %v", err), "")
			return
		}
		for _, s := range page.Subscriptions {
			switch arn := aws.ToString(s.SubscriptionArn); arn {
			case "PendingConfirmation", "Deleted", "":
				pending++
			default:
				confirmed++
			}
		}
	}
	switch {
	case confirmed > 0:
		d.add("topic", region, checkPass, fmt.Sprintf("%s has %d confirmed subscriptions", topicName, confirmed), "")
	case d.noEmail:
		d.add("topic", region, checkWarn, fmt.Sprintf("%s has no confirmed subscription (the settings want no e-mail): nobody reads the alerts unless you subscribed otherwise", topicName),
			"subscribe your alerting (SQS, HTTPS, chat) to "+topic)
	case pending > 0:
		d.add("topic", region, checkFail, fmt.Sprintf("%s: %d subscriptions wait for confirmation, none is confirmed: the alerts reach nobody", topicName, pending),
			"click the link in the AWS Notification e-mail (check spam), or subscribe again")
	default:
		d.add("topic", region, checkFail, fmt.Sprintf("%s has no subscription: the alerts reach nobody", topicName), "set rampart:notificationEmail and deploy, or subscribe to "+topic)
	}
}

// checkEnabled: no rampart-* EventBridge rule is disabled and no Rampart
// function is throttled to zero (reserved concurrency 0 stops it).
func (d *doctor) checkEnabled(ctx context.Context, region string) {
	eb := eventbridge.NewFromConfig(d.regional(region))
	var disabled []string
	rules := 0
	var next *string
	for {
		out, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String(functionPrefix), NextToken: next})
		if err != nil {
			d.add("enabled", region, checkFail, fmt.Sprintf("events:ListRules: %v", err), "")
			return
		}
		for _, r := range out.Rules {
			rules++
			if r.State == ebtypes.RuleStateDisabled {
				disabled = append(disabled, aws.ToString(r.Name))
			}
		}
		if next = out.NextToken; next == nil {
			break
		}
	}
	lc := lambda.NewFromConfig(d.regional(region))
	var stopped, missing []string
	fns := catalog.Functions()
	names := make([]string, 0, len(fns))
	for fn := range fns {
		names = append(names, fn)
	}
	sort.Strings(names)
	for _, fn := range names {
		name := functionPrefix + fn
		out, err := lc.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
		switch {
		case awsclient.HasCode(err, "ResourceNotFoundException"):
			missing = append(missing, name)
		case err != nil:
			d.add("enabled", region, checkFail, fmt.Sprintf("lambda:GetFunctionConcurrency %s: %v", name, err), "")
			return
		case out.ReservedConcurrentExecutions != nil && *out.ReservedConcurrentExecutions == 0:
			stopped = append(stopped, name)
		}
	}
	ok := true
	if len(disabled) > 0 {
		ok = false
		d.add("enabled", region, checkFail, "disabled EventBridge rules: "+strings.Join(disabled, ", "), "aws events enable-rule --name NAME (and find out who disabled it: CloudTrail DisableRule)")
	}
	if len(stopped) > 0 {
		ok = false
		d.add("enabled", region, checkFail, "functions with reserved concurrency 0 (never run): "+strings.Join(stopped, ", "), "aws lambda delete-function-concurrency --function-name NAME")
	}
	if len(missing) == len(names) {
		ok = false
		d.add("enabled", region, checkFail, "no Rampart function in the region", "make deploy")
	} else if len(missing) > 0 {
		ok = false
		d.add("enabled", region, checkWarn, "functions not deployed here: "+strings.Join(missing, ", "), "deploy again; a function without a trigger in the region is not deployed there")
	}
	if ok {
		d.add("enabled", region, checkPass, fmt.Sprintf("%d EventBridge rules enabled, %d functions can run", rules, len(names)), "")
	}
}

// checkRoles: each function's role may call every action its rules declare
// (rule.Meta ReadActions and WriteActions), by IAM's policy simulator.
//
// moto 5.2.1 does not implement iam:SimulatePrincipalPolicy: against it (and
// whenever the simulator cannot answer, e.g. the doctor may not call it) the
// check says "could not verify" as a warning, never pass.
func (d *doctor) checkRoles(ctx context.Context) {
	const region = "" // IAM is global
	c := iam.NewFromConfig(d.cfg)
	fns := catalog.Functions()
	names := make([]string, 0, len(fns))
	for fn := range fns {
		names = append(names, fn)
	}
	sort.Strings(names)
	for _, fn := range names {
		role := "rampart-" + fn // infra/roles.go roleName: one role per function, every region
		actions, err := declaredActions(fns[fn], d.params)
		if err != nil {
			d.add("permissions", region, checkFail, fmt.Sprintf("role %s: %v", role, err), "fix rampart:params in cdk.json")
			continue
		}
		got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if awsclient.HasCode(err, "NoSuchEntity") {
			d.add("permissions", region, checkWarn, fmt.Sprintf("role %s does not exist (function not deployed here?)", role), "make deploy")
			continue
		}
		if err != nil {
			d.add("permissions", region, checkWarn, fmt.Sprintf("could not verify %s: iam:GetRole: %v", role, err), "grant iam:GetRole and iam:SimulatePrincipalPolicy to the doctor's credentials")
			continue
		}
		denied, err := simulate(ctx, c, aws.ToString(got.Role.Arn), actions)
		switch {
		case err != nil:
			d.add("permissions", region, checkWarn, fmt.Sprintf("could not verify %s (%d actions): iam:SimulatePrincipalPolicy: %v", role, len(actions), err),
				"grant iam:SimulatePrincipalPolicy to the doctor's credentials")
		case len(denied) > 0:
			d.add("permissions", region, checkFail, fmt.Sprintf("role %s may not call %s", role, strings.Join(denied, ", ")),
				"deploy again (the stack grants every declared action); look for a permissions boundary, SCP or an edited policy")
		default:
			d.add("permissions", region, checkPass, fmt.Sprintf("role %s may call all %d declared actions", role, len(actions)), "")
		}
	}
}

// declaredActions are the actions the function's role must hold: its
// rules' read actions and the write actions the deployed parameters enable
// (rule.Meta.ParamWrites: e.g. recreating a recorder only with a role named).
func declaredActions(rules []rule.Rule, params map[string]map[string]string) ([]string, error) {
	var out []string
	for _, r := range rules {
		m := r.Meta()
		p, err := m.Resolve(params[m.ID])
		if err != nil {
			return nil, err
		}
		for _, a := range slices.Concat(m.ReadActions, m.GrantedWriteActions(p)) {
			if a != rule.AlertAPI && !slices.Contains(out, a) { // alerts go to Rampart's own topic only
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// simulate returns the actions the principal's policies do not allow. The
// simulator takes at most 128 actions a call.
func simulate(ctx context.Context, c *iam.Client, principal string, actions []string) ([]string, error) {
	var denied []string
	for start := 0; start < len(actions); start += 128 {
		in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(principal), ActionNames: actions[start:min(start+128, len(actions))]}
		p := iam.NewSimulatePrincipalPolicyPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, r := range page.EvaluationResults {
				if r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed {
					denied = append(denied, aws.ToString(r.EvalActionName)+" ("+string(r.EvalDecision)+")")
				}
			}
		}
	}
	return denied, nil
}
