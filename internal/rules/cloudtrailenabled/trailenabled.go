// Package cloudtrailenabled holds cloudtrail-enabled: the account has at least one
// multi-region CloudTrail trail that is logging and records every management
// event — reads and writes, no event source excluded, in basic or advanced
// selector form (judged by package trailsel, as cloudtrail-integrity does) —
// optionally delivering to the S3 bucket, SNS topic and CloudWatch Logs log
// group the deployment requires (AWS's managed rule
// "multi-region-cloudtrail-enabled").
//
// It is a periodic, account-level Config rule. Its one remediation is to
// restart a suitable multi-region trail that has stopped logging (undo: stop
// it again). Creating or reconfiguring trails is left to cloudtrail-integrity
// (package cloudtrailintegrity), which restores weakened and deleted trails from
// the deployment's baseline as the changes happen; this rule only reports
// those cases.
package cloudtrailenabled

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trailsel"
)

// ResourceType is the Config type of account-level rules.
const ResourceType = "AWS::::Account"

// Parameter names (those of AWS's managed rule).
const (
	ParamBucket   = "s3BucketName"
	ParamTopic    = "snsTopicArn"
	ParamLogGroup = "cloudWatchLogsLogGroupArn"
)

// IAM actions, as plans name them.
const (
	apiDescribe = "cloudtrail:DescribeTrails"
	apiStatus   = "cloudtrail:GetTrailStatus"
	apiSelect   = "cloudtrail:GetEventSelectors"
	apiStart    = "cloudtrail:StartLogging"
	apiStop     = "cloudtrail:StopLogging"
	apiIdentity = "sts:GetCallerIdentity"
)

// Rule is cloudtrail-enabled.
var Rule = rule.Define(rule.Spec[[]trail, params]{
	Meta:    &meta,
	Parse:   parse,
	Observe: observe,
	Judge:   judgeAccount,
	Apply:   apply,
	Sweep:   sweep,
})

// params are the settings a trail must have (empty: any).
type params struct {
	Bucket, Topic, LogGroup string
}

func parse(p rule.Params) (params, error) {
	return params{Bucket: p[ParamBucket], Topic: p[ParamTopic], LogGroup: p[ParamLogGroup]}, nil
}

// Compiled on first use, not at every cold start: bounded repetitions
// compile into as many copies.
var (
	bucketPattern   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`) })
	regionPattern   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9-]+$`) })
	topicPattern    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`) })
	logGroupPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^log-group:[^:]+(:\*)?$`) })
)

func matchOrEmpty(re func() *regexp.Regexp, what string) func(string) error {
	return func(s string) error {
		if s == "" || re().MatchString(s) {
			return nil
		}
		return fmt.Errorf("not %s", what)
	}
}

// arnOrEmpty checks an ARN of service whose resource matches re, in a
// region and an account of any partition.
func arnOrEmpty(service string, re func() *regexp.Regexp, what string) func(string) error {
	return func(s string) error {
		if s == "" {
			return nil
		}
		a, err := arn.Parse(s)
		if err != nil || a.Partition != "aws" && !strings.HasPrefix(a.Partition, "aws-") || a.Service != service ||
			!regionPattern().MatchString(a.Region) || !awsclient.ValidAccount(a.AccountID) || !re().MatchString(a.Resource) {
			return fmt.Errorf("not %s", what)
		}
		return nil
	}
}

var meta = rule.Meta{
	ID:                  "cloudtrail-enabled",
	Title:               "A multi-region CloudTrail trail is logging all management events",
	Severity:            rule.Critical,
	Rationale:           "Without a logging multi-region trail, API activity in some or all regions leaves no durable audit record: incidents cannot be investigated and tampering goes unseen.",
	Remediation:         "Restarts logging on a multi-region trail that meets the parameters and records all management events but has stopped; reports otherwise (cloudtrail-integrity restores weakened or deleted trails).",
	ResourceType:        ResourceType,
	Function:            "cloudtrail",
	SecurityHubControls: []string{"CloudTrail.1"},
	Config:              &rule.ConfigTrigger{Frequency: rule.TwentyFourHour},
	Params: []rule.Param{
		{Name: ParamBucket, Default: "", Description: "S3 bucket the trail must deliver to (empty: any)", Check: matchOrEmpty(bucketPattern, "an S3 bucket name")},
		{Name: ParamTopic, Default: "", Description: "SNS topic ARN the trail must notify (empty: any or none)", Check: arnOrEmpty("sns", topicPattern, "an SNS topic ARN")},
		{Name: ParamLogGroup, Default: "", Description: "CloudWatch Logs log group ARN the trail must deliver to (empty: any or none)", Check: arnOrEmpty("logs", logGroupPattern, "a CloudWatch Logs log group ARN")},
	},
	ReadActions:  []string{apiDescribe, apiStatus, apiSelect, apiIdentity},
	WriteActions: []string{apiStart},

	ListExemptionsOnly: true, // guards the audit trail: only the checked-in list exempts
}

// trail is what the rule judges of one trail.
type trail struct {
	Name, ARN, HomeRegion string
	MultiRegion           bool
	Bucket, Topic, Logs   string
	Logging               bool
	// Selectors are the trail's event selectors, read for the trails that
	// meet the parameters.
	Selectors trailsel.Selectors
}

func normLogGroup(s string) string { return strings.TrimSuffix(s, ":*") }

// mismatch says how t misses the required settings; "" when it meets them.
func mismatch(t trail, p params) string {
	var miss []string
	if want := p.Bucket; want != "" && t.Bucket != want {
		miss = append(miss, "bucket "+want)
	}
	if want := p.Topic; want != "" && t.Topic != want {
		miss = append(miss, "topic "+want)
	}
	if want := p.LogGroup; want != "" && normLogGroup(t.Logs) != normLogGroup(want) {
		miss = append(miss, "log group "+want)
	}
	return strings.Join(miss, ", ")
}

// judgeAccount decides the account (the target) from its trails, in the
// target's region.
func judgeAccount(trails []trail, t rule.Target, p params, f rule.Facts) rule.Finding {
	region := t.Region
	if region == "" {
		region = f.Region
	}
	return judge(trails, p, t.ID, region)
}

// judge decides the account from its trails (sorted by name). It is pure:
// account and region say which trails a StartLogging here can reach.
func judge(trails []trail, p params, account, region string) rule.Finding {
	var suitable []trail
	multi := 0
	var misses []string
	for _, t := range trails {
		if !t.MultiRegion {
			continue
		}
		multi++
		if m := mismatch(t, p); m != "" {
			misses = append(misses, t.Name+" lacks "+m)
			continue
		}
		// A trail that logs but leaves out management events (or their
		// reads, writes or some sources) does not make the account audited,
		// and starting it would not either.
		if gaps := trailsel.Gaps(t.Selectors); len(gaps) > 0 {
			misses = append(misses, t.Name+": "+strings.Join(gaps, ", "))
			continue
		}
		if t.Logging {
			return rule.Finding{Verdict: rule.Compliant, Resource: account,
				Reason: fmt.Sprintf("multi-region trail %s is logging", t.Name)}
		}
		suitable = append(suitable, t)
	}
	f := rule.Finding{Verdict: rule.Violation, Resource: account}
	switch {
	case multi == 0:
		f.Reason = "no multi-region trail: API activity goes unrecorded in some regions; create one (cloudtrail-integrity recreates the deployment's baseline trail)"
		return f
	case len(suitable) == 0:
		f.Reason = "no multi-region trail meets the requirements: " + strings.Join(misses, "; ")
		return f
	}
	for _, t := range suitable {
		if t.HomeRegion == region && arnAccount(t.ARN) == account {
			p := nameParams{Name: t.Name, ARN: t.ARN}
			undo := rule.NewAction(apiStop, t.ARN, "stop logging again", p, nil)
			f.Reason = fmt.Sprintf("multi-region trail %s is not logging", t.Name)
			f.Actions = []rule.Action{rule.NewAction(apiStart, t.ARN, "start logging on "+t.Name, p, &undo)}
			return f
		}
	}
	t := suitable[0]
	f.Reason = fmt.Sprintf("multi-region trail %s is not logging; it can be started only from its home region %s in account %s", t.Name, t.HomeRegion, arnAccount(t.ARN))
	return f
}

// arnAccount is the account of an ARN ("" when it is not one).
func arnAccount(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.AccountID
}

// trailsAPI is what the rule reads of CloudTrail.
type trailsAPI interface {
	DescribeTrails(context.Context, *cloudtrail.DescribeTrailsInput, ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(context.Context, *cloudtrail.GetTrailStatusInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(context.Context, *cloudtrail.GetEventSelectorsInput, ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
}

func observe(ctx context.Context, env rule.Env, _ rule.Target, p params) ([]trail, error) {
	return read(ctx, awsclient.Client(env.Session, cloudtrail.NewFromConfig), p)
}

// read lists the account's trails, sorted by name: one DescribeTrails, and
// one GetTrailStatus and one GetEventSelectors per multi-region trail that
// meets the parameters, until one is logging all management events.
func read(ctx context.Context, api trailsAPI, p params) ([]trail, error) {
	out, err := api.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("describe trails: %w", err)
	}
	trails := make([]trail, 0, len(out.TrailList))
	for _, tr := range out.TrailList {
		trails = append(trails, fromSDK(tr))
	}
	sort.Slice(trails, func(i, j int) bool { return trails[i].Name < trails[j].Name })
	for i := range trails {
		if !trails[i].MultiRegion || mismatch(trails[i], p) != "" {
			continue
		}
		st, err := api.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trails[i].ARN)})
		if awsclient.HasCode(err, "TrailNotFoundException") {
			continue // deleted between the two calls
		}
		if err != nil {
			return nil, fmt.Errorf("trail status of %s: %w", trails[i].Name, err)
		}
		trails[i].Logging = aws.ToBool(st.IsLogging)
		sel, err := api.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(trails[i].ARN)})
		if awsclient.HasCode(err, "TrailNotFoundException") {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("event selectors of %s: %w", trails[i].Name, err)
		}
		trails[i].Selectors = trailsel.Selectors{Basic: sel.EventSelectors, Advanced: sel.AdvancedEventSelectors}
		if trails[i].Logging && trailsel.RecordsAllManagement(trails[i].Selectors) {
			break
		}
	}
	return trails, nil
}

func fromSDK(tr cttypes.Trail) trail {
	return trail{Name: aws.ToString(tr.Name), ARN: aws.ToString(tr.TrailARN), HomeRegion: aws.ToString(tr.HomeRegion),
		MultiRegion: aws.ToBool(tr.IsMultiRegionTrail), Bucket: aws.ToString(tr.S3BucketName),
		Topic: aws.ToString(tr.SnsTopicARN), Logs: aws.ToString(tr.CloudWatchLogsLogGroupArn)}
}

// nameParams are the params of StartLogging and StopLogging.
type nameParams struct {
	Name string `json:"name"`
	ARN  string `json:"arn"`
}

// apply makes StartLogging, or StopLogging as its undo. The trail is named
// by name: both calls run in the trail's home region, where the name is
// unambiguous (moto 5.2.1 also rejects an ARN in StartLogging).
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	var p nameParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.Name == "" {
		return fmt.Errorf("%s: params need name", a.API)
	}
	client := awsclient.Client(env.Session, cloudtrail.NewFromConfig)
	var err error
	switch a.API {
	case apiStart:
		_, err = client.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(p.Name)})
	case apiStop:
		_, err = client.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(p.Name)})
	default:
		return fmt.Errorf("cloudtrail-enabled cannot apply %s", a.API)
	}
	if awsclient.HasCode(err, "TrailNotFoundException") {
		return fmt.Errorf("%s %s: the trail is gone: %w", a.API, p.Name, rule.ErrNoOp)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", a.API, p.Name, err)
	}
	return nil
}

// sweep names the account itself, by its ID (the session's account,
// resolved once per cold start).
func sweep(ctx context.Context, env rule.Env, _ params) ([]rule.Target, error) {
	account, err := env.Session.AccountID(ctx)
	if err != nil {
		return nil, err
	}
	return []rule.Target{{Type: ResourceType, ID: account, Region: env.Session.Region}}, nil
}
