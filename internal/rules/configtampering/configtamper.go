// Package configtampering holds config-tampering: AWS Config keeps recording in
// every region Rampart guards. It reacts to the calls that blind or narrow
// Config — StopConfigurationRecorder, DeleteConfigurationRecorder,
// DeleteDeliveryChannel, PutConfigurationRecorder, PutDeliveryChannel — and
// sweeps on a schedule, judging the region's current setup: a
// customer-managed configuration recorder that records (all supported types
// when the baseline asks, always the types Rampart's Config rules judge, and
// those continuously, with the baseline's role and global types), and a
// delivery channel to the baseline's bucket.
//
// A stopped recorder is started again. A deleted, narrowed or redirected
// recorder or delivery channel is an alert, and is restored only when the
// deployment names the baseline (the recorder's role, the channel's bucket):
// Rampart never invents where Config should deliver or which role it uses. This rule protects Rampart itself — its Config rules
// evaluate nothing while the recorder is off — so it is driven by CloudTrail
// events and an EventBridge schedule, never by a Config rule.
//
// The package changes only the Config recorder and delivery channel; it never
// touches Config rules, aggregators or service-linked recorders.
package configtampering

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// Resource types.
const (
	ResourceType = "AWS::Config::ConfigurationRecorder"
	channelType  = "AWS::Config::DeliveryChannel"
)

// IAM actions, as plans name them.
const (
	apiStart          = "config:StartConfigurationRecorder"
	apiStop           = "config:StopConfigurationRecorder"
	apiPutRecorder    = "config:PutConfigurationRecorder"
	apiDeleteRecorder = "config:DeleteConfigurationRecorder"
	apiPutChannel     = "config:PutDeliveryChannel"
	apiDeleteChannel  = "config:DeleteDeliveryChannel"
)

// Parameter names: the deployment's Config baseline.
const (
	ParamRecorderName   = "recorderName"
	ParamRecorderRole   = "recorderRoleArn"
	ParamGlobal         = "includeGlobalResourceTypes"
	ParamChannelName    = "deliveryChannelName"
	ParamBucket         = "deliveryBucketName"
	ParamPrefix         = "deliveryKeyPrefix"
	ParamTopic          = "deliveryTopicArn"
	ParamFrequency      = "deliveryFrequency"
	ParamRequireAll     = "recordAllSupported"
	defaultRecorderName = "default"
)

// Rule is config-tampering.
var Rule = rule.Define(rule.Spec[setup, baseline]{
	Meta:    &meta,
	Parse:   parse,
	Targets: func(call *trigger.APICall, _ baseline) ([]rule.Target, error) { return targets(call) },
	Observe: observe,
	Plan:    plan,
	Judge:   judge,
	Apply:   apply,
	Sweep:   sweep,
})

// baseline is the rule's typed parameters: the deployment's Config
// baseline.
type baseline struct {
	RecorderName string
	// RecorderRole is the role the recorder must record with; empty: any,
	// and no recorder is recreated or restored.
	RecorderRole string
	// Global: the recorder must record the global (IAM) types.
	Global bool
	// RequireAll: the recorder must record all supported types.
	RequireAll  bool
	ChannelName string
	// Bucket, Prefix and Topic are where the delivery channel must
	// deliver; an empty Bucket judges no channel's destination and
	// recreates none.
	Bucket, Prefix, Topic string
	// Frequency is a recreated or restored channel's snapshot frequency
	// (empty: Config's default, or the channel's own).
	Frequency string
}

func parse(p rule.Params) (baseline, error) {
	b := baseline{RecorderName: p[ParamRecorderName], RecorderRole: p[ParamRecorderRole], ChannelName: p[ParamChannelName],
		Bucket: p[ParamBucket], Prefix: p[ParamPrefix], Topic: p[ParamTopic], Frequency: p[ParamFrequency]}
	var err error
	if b.Global, err = strconv.ParseBool(p[ParamGlobal]); err != nil {
		return baseline{}, fmt.Errorf("parameter %s: %w", ParamGlobal, err)
	}
	if b.RequireAll, err = strconv.ParseBool(p[ParamRequireAll]); err != nil {
		return baseline{}, fmt.Errorf("parameter %s: %w", ParamRequireAll, err)
	}
	return b, nil
}

var meta = rule.Meta{
	ID:           "config-tampering",
	Title:        "AWS Config keeps recording and delivering",
	Severity:     rule.High,
	Rationale:    "Stopping the configuration recorder, narrowing what it records (fewer types, daily instead of continuous, another role) or deleting or redirecting its delivery channel blinds AWS Config: no configuration history, and every Config rule — Rampart's included — stops evaluating. Intruders do it before changing what Config would have recorded.",
	Remediation:  "Starts a stopped recorder; alerts on a deleted, narrowed or redirected recorder or delivery channel and restores it from the deployment's baseline when one is named.",
	ResourceType: ResourceType,
	Function:     "config",
	CloudTrail: []rule.CloudTrailTrigger{{Source: "config.amazonaws.com",
		Events: []string{"StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel", "PutConfigurationRecorder", "PutDeliveryChannel"}}},
	Schedule: "rate(6 hours)",
	Params: []rule.Param{
		{Name: ParamRecorderName, Default: defaultRecorderName, Description: "name of the configuration recorder to recreate if none exists", Check: checkName},
		{Name: ParamRecorderRole, Default: "", Description: "role AWS Config records with (e.g. the AWSServiceRoleForConfig service-linked role ARN); the recorder is recreated only when this is set", Check: checkARN},
		{Name: ParamGlobal, Default: "false", Description: "the recorder must record global resources (IAM); set true in one region only (one where Config existed before February 2022)", Check: checkBool},
		{Name: ParamRequireAll, Default: "true", Description: "the recorder must record all supported resource types; false accepts a narrower group that still records every type Rampart's Config rules judge", Check: checkBool},
		{Name: ParamChannelName, Default: "default", Description: "name of the delivery channel to recreate if none exists", Check: checkName},
		{Name: ParamBucket, Default: "", Description: "S3 bucket of the delivery channel; when set, the channel must deliver there (with this prefix and topic) and is restored or recreated"},
		{Name: ParamPrefix, Default: "", Description: "S3 key prefix of the baseline delivery channel"},
		{Name: ParamTopic, Default: "", Description: "SNS topic ARN of the baseline delivery channel (empty: none)", Check: checkARN},
		{Name: ParamFrequency, Default: "", Description: "snapshot delivery frequency of a recreated channel (One_Hour … TwentyFour_Hours)", Check: checkFrequency},
	},
	ReadActions:  []string{"config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus", "config:DescribeDeliveryChannels"},
	WriteActions: []string{apiStart, apiPutRecorder, apiPutChannel},
	// PutConfigurationRecorder passes the recorder's role to AWS Config.
	PassRoles: []string{ParamRecorderRole},
	// A recorder is recreated or restored only with the baseline's role, a
	// delivery channel only with its bucket: without them, no permission.
	ParamWrites: []rule.ParamWrite{
		{Actions: []string{apiPutRecorder}, When: []string{ParamRecorderRole}},
		{Actions: []string{apiPutChannel}, When: []string{ParamBucket}},
	},

	ListExemptionsOnly: true, // guards the audit trail: only the checked-in list exempts
}

func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("a name is required")
	}
	return nil
}

func checkARN(s string) error {
	if s != "" && !strings.HasPrefix(s, "arn:") {
		return fmt.Errorf("want an ARN")
	}
	return nil
}

func checkBool(s string) error {
	_, err := strconv.ParseBool(s)
	return err
}

func checkFrequency(s string) error {
	if s == "" {
		return nil
	}
	for _, f := range cfgtypes.MaximumExecutionFrequency("").Values() {
		if string(f) == s {
			return nil
		}
	}
	return fmt.Errorf("want one of One_Hour, Three_Hours, Six_Hours, Twelve_Hours, TwentyFour_Hours")
}

// evidence is what a call did: which recorder or channel it stopped, deleted
// or put, and what a Put asked for.
type evidence struct {
	Event    string
	Name     string
	Recorder *recorderSpec
	Channel  *channelParams
}

// targets are the recorder or delivery channel the call named.
// requestParameters that are not an object or name nothing are bad input.
func targets(call *trigger.APICall) ([]rule.Target, error) {
	var req struct {
		Recorder    string           `json:"configurationRecorderName"`
		Channel     string           `json:"deliveryChannelName"`
		PutRecorder *requestRecorder `json:"configurationRecorder"`
		PutChannel  *requestChannel  `json:"deliveryChannel"`
	}
	if err := json.Unmarshal(call.Request, &req); err != nil {
		return nil, fmt.Errorf("%w: %s requestParameters: %w", trigger.ErrInput, call.EventName, err)
	}
	t := rule.Target{Type: ResourceType, Region: call.Region}
	ev := evidence{Event: call.EventName}
	switch call.EventName {
	case "StopConfigurationRecorder", "DeleteConfigurationRecorder":
		t.ID = req.Recorder
	case "DeleteDeliveryChannel":
		t.ID, t.Type = req.Channel, channelType
	case "PutConfigurationRecorder":
		if req.PutRecorder != nil {
			spec := req.PutRecorder.spec()
			t.ID, ev.Recorder = spec.Name, &spec
		}
	case "PutDeliveryChannel":
		if req.PutChannel != nil {
			ch := req.PutChannel.channel()
			t.ID, t.Type, ev.Channel = ch.Name, channelType, &ch
		}
	default:
		return nil, nil
	}
	if t.ID == "" {
		return nil, fmt.Errorf("%w: %s names no recorder or delivery channel", trigger.ErrInput, call.EventName)
	}
	ev.Name = t.ID
	t.Evidence = ev
	return []rule.Target{t}, nil
}

// setup is the part of a region's Config state the rule judges: the whole
// setup, whichever call triggered.
type setup struct {
	// Recorder is the customer-managed recorder; nil when there is none.
	Recorder *recorder
	// Channel is the delivery channel's name; empty when there is none.
	Channel string
	// ChannelSpec is the channel's configuration; nil when unknown.
	ChannelSpec *channelParams
	// Known is false for a setup assumed from an event (offline).
	Known bool
}

type recorder struct {
	Name      string
	Recording bool
	// Spec is the recorder's configuration; nil when unknown (an offline
	// plan from an event that does not carry it).
	Spec *recorderSpec
}

// assumed is the setup an event implies, for an offline plan: a stopped
// recorder after StopConfigurationRecorder; no recorder after its deletion;
// no channel — and a stopped recorder, since AWS refuses to delete the
// channel of a running one — after DeleteDeliveryChannel; the recorder or
// channel as put (and the rest unknown) after a Put.
func assumed(ev evidence, p baseline) setup {
	switch ev.Event {
	case "PutConfigurationRecorder":
		return setup{Recorder: &recorder{Name: ev.Name, Recording: true, Spec: ev.Recorder}, Channel: p.ChannelName}
	case "PutDeliveryChannel":
		return setup{Recorder: &recorder{Name: p.RecorderName, Recording: true}, Channel: ev.Name, ChannelSpec: ev.Channel}
	case "StopConfigurationRecorder":
		return setup{Recorder: &recorder{Name: ev.Name}, Channel: p.ChannelName}
	case "DeleteConfigurationRecorder":
		return setup{Channel: p.ChannelName}
	default: // DeleteDeliveryChannel
		return setup{Recorder: &recorder{Name: p.RecorderName}}
	}
}

// plan is the offline planner: the setup the event implies.
func plan(t rule.Target, p baseline) (setup, error) {
	ev, ok := t.Evidence.(evidence)
	if !ok {
		return setup{}, rule.Undecided("the trigger says nothing about the Config setup")
	}
	return assumed(ev, p), nil
}

// observe reads the region's current setup, whichever call triggered.
func observe(ctx context.Context, env rule.Env, _ rule.Target, _ baseline) (setup, error) {
	return describe(ctx, awsclient.Client(env.Session, configservice.NewFromConfig))
}

// configAPI is what the rule reads of AWS Config.
type configAPI interface {
	DescribeConfigurationRecorders(context.Context, *configservice.DescribeConfigurationRecordersInput, ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecordersOutput, error)
	DescribeConfigurationRecorderStatus(context.Context, *configservice.DescribeConfigurationRecorderStatusInput, ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecorderStatusOutput, error)
	DescribeDeliveryChannels(context.Context, *configservice.DescribeDeliveryChannelsInput, ...func(*configservice.Options)) (*configservice.DescribeDeliveryChannelsOutput, error)
}

// describe reads the region's recorder, its status and the delivery channels:
// three calls (two when there is no recorder).
func describe(ctx context.Context, client configAPI) (setup, error) {
	st := setup{Known: true}
	recs, err := client.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		return st, fmt.Errorf("describe configuration recorders: %w", err)
	}
	for i, r := range recs.ConfigurationRecorders {
		// Service-linked recorders belong to the AWS service that made them.
		if r.ServicePrincipal == nil {
			spec := specOf(&recs.ConfigurationRecorders[i])
			st.Recorder = &recorder{Name: aws.ToString(r.Name), Spec: &spec}
			break
		}
	}
	if st.Recorder != nil {
		status, err := client.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{
			ConfigurationRecorderNames: []string{st.Recorder.Name}})
		switch {
		case awsclient.HasCode(err, "NoSuchConfigurationRecorderException"):
			st.Recorder = nil // deleted between the two calls
		case err != nil:
			return st, fmt.Errorf("describe configuration recorder status: %w", err)
		default:
			for _, rs := range status.ConfigurationRecordersStatus {
				if aws.ToString(rs.Name) == st.Recorder.Name {
					st.Recorder.Recording = rs.Recording
				}
			}
		}
	}
	chans, err := client.DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{})
	if err != nil {
		return st, fmt.Errorf("describe delivery channels: %w", err)
	}
	if len(chans.DeliveryChannels) > 0 {
		ch := channelOf(&chans.DeliveryChannels[0])
		st.Channel, st.ChannelSpec = ch.Name, &ch
	}
	return st, nil
}

// Action params.
type recorderParams struct {
	Name          string `json:"recorderName"`
	RoleARN       string `json:"roleArn,omitempty"`
	IncludeGlobal bool   `json:"includeGlobalResourceTypes,omitempty"`
	// Recorder, when set, is the whole recorder to put (a restore, or the
	// undo that puts back the recorder as it was).
	Recorder *recorderSpec `json:"recorder,omitempty"`
}

type channelParams struct {
	Name      string `json:"deliveryChannelName"`
	Bucket    string `json:"s3BucketName,omitempty"`
	Prefix    string `json:"s3KeyPrefix,omitempty"`
	Topic     string `json:"snsTopicArn,omitempty"`
	Frequency string `json:"deliveryFrequency,omitempty"`
	KMSKey    string `json:"s3KmsKeyArn,omitempty"`
}

// decide is the rule: what is wrong with the setup and the plan that fixes
// what the baseline allows, in the order AWS requires (a recorder before its
// channel, a channel before starting).
func decide(st setup, p baseline, region string) rule.Finding {
	where := ""
	if region != "" {
		where = " in " + region
	}
	var problems, cannot []string
	var alerts, fixes []rule.Action
	recName := p.RecorderName
	haveRecorder := st.Recorder != nil
	if haveRecorder {
		recName = st.Recorder.Name
	}
	role := p.RecorderRole
	if !haveRecorder {
		msg := "no configuration recorder" + where
		problems = append(problems, msg)
		if role != "" {
			rp := recorderParams{Name: recName, RoleARN: role, IncludeGlobal: p.Global}
			undo := rule.NewAction(apiDeleteRecorder, recName, "delete the recreated recorder", recorderParams{Name: recName}, nil)
			fixes = append(fixes, rule.NewAction(apiPutRecorder, recName, "recreate the baseline recorder (all supported resource types) with role "+role, rp, &undo))
			haveRecorder = true
		} else {
			cannot = append(cannot, "no baseline recorder to recreate ("+ParamRecorderRole+" is not set)")
		}
		alerts = append(alerts, rule.Alert(recName, msg))
	} else if spec := st.Recorder.Spec; spec != nil {
		if narrowed, want := judgeRecorder(*spec, p); len(narrowed) > 0 {
			msg := strings.Join(narrowed, "; ") + where
			problems = append(problems, msg)
			alerts = append(alerts, rule.Alert(recName, msg))
			if role != "" {
				want.RoleARN = role
				undo := rule.NewAction(apiPutRecorder, recName, "put the recorder back as it was", recorderParams{Name: recName, Recorder: spec}, nil)
				fixes = append(fixes, rule.NewAction(apiPutRecorder, recName, "restore the baseline recording of recorder "+recName,
					recorderParams{Name: recName, Recorder: &want}, &undo))
			} else {
				cannot = append(cannot, "the recorder is not restored ("+ParamRecorderRole+" is not set)")
			}
		}
	}
	haveChannel := st.Channel != ""
	if !haveChannel {
		msg := "no delivery channel" + where
		problems = append(problems, msg)
		name := p.ChannelName
		switch bucket := p.Bucket; {
		case bucket == "":
			cannot = append(cannot, "no baseline delivery channel to recreate ("+ParamBucket+" is not set)")
		case !haveRecorder:
			cannot = append(cannot, "the delivery channel cannot be recreated without a recorder")
		default:
			cp := channelParams{Name: name, Bucket: bucket, Prefix: p.Prefix, Topic: p.Topic, Frequency: p.Frequency}
			undo := rule.NewAction(apiDeleteChannel, name, "delete the recreated delivery channel", channelParams{Name: name}, nil)
			fixes = append(fixes, rule.NewAction(apiPutChannel, name, "recreate the baseline delivery channel to s3://"+bucket, cp, &undo))
			haveChannel = true
		}
		alerts = append(alerts, rule.Alert(name, msg))
	} else if ch := st.ChannelSpec; ch != nil {
		// judgeChannel finds nothing without a baseline bucket.
		if redirected, want := judgeChannel(*ch, p); len(redirected) > 0 {
			msg := strings.Join(redirected, "; ") + where
			problems = append(problems, msg)
			alerts = append(alerts, rule.Alert(ch.Name, msg))
			undo := rule.NewAction(apiPutChannel, ch.Name, "put the delivery channel back as it was", *ch, nil)
			fixes = append(fixes, rule.NewAction(apiPutChannel, ch.Name, "restore the baseline delivery channel to "+s3URL(want.Bucket, want.Prefix), want, &undo))
		}
	}
	if st.Recorder != nil && !st.Recorder.Recording {
		problems = append(problems, fmt.Sprintf("configuration recorder %s is stopped", recName))
	}
	if haveRecorder && (st.Recorder == nil || !st.Recorder.Recording) {
		if haveChannel {
			undo := rule.NewAction(apiStop, recName, "stop the recorder again", recorderParams{Name: recName}, nil)
			fixes = append(fixes, rule.NewAction(apiStart, recName, "start recording", recorderParams{Name: recName}, &undo))
		} else {
			cannot = append(cannot, "the recorder cannot be started without a delivery channel")
		}
	}
	if len(problems) == 0 {
		return rule.Finding{Verdict: rule.Compliant,
			Reason: fmt.Sprintf("configuration recorder %s is recording and delivery channel %s exists", recName, st.Channel)}
	}
	reason := strings.Join(problems, "; ")
	if !st.Known {
		reason += " (as the event implies)"
	}
	if len(cannot) > 0 {
		reason += "; " + strings.Join(cannot, "; ")
	}
	return rule.Finding{Verdict: rule.Violation, Reason: reason, Actions: append(alerts, fixes...)}
}

// requestRecorder is PutConfigurationRecorder's requestParameters
// configurationRecorder, in the API's JSON names.
type requestRecorder struct {
	Name           string `json:"name"`
	RoleARN        string `json:"roleARN"`
	RecordingGroup *struct {
		AllSupported             bool     `json:"allSupported"`
		IncludeGlobal            bool     `json:"includeGlobalResourceTypes"`
		ResourceTypes            []string `json:"resourceTypes"`
		ExclusionByResourceTypes *struct {
			ResourceTypes []string `json:"resourceTypes"`
		} `json:"exclusionByResourceTypes"`
		RecordingStrategy *struct {
			UseOnly string `json:"useOnly"`
		} `json:"recordingStrategy"`
	} `json:"recordingGroup"`
	RecordingMode *struct {
		Frequency string         `json:"recordingFrequency"`
		Overrides []modeOverride `json:"recordingModeOverrides"`
	} `json:"recordingMode"`
}

func (r *requestRecorder) spec() recorderSpec {
	s := recorderSpec{Name: r.Name, RoleARN: r.RoleARN, AllSupported: true}
	if g := r.RecordingGroup; g != nil {
		s.AllSupported, s.IncludeGlobal, s.ResourceTypes = g.AllSupported, g.IncludeGlobal, g.ResourceTypes
		if g.ExclusionByResourceTypes != nil {
			s.Excluded = g.ExclusionByResourceTypes.ResourceTypes
		}
		if g.RecordingStrategy != nil {
			s.Strategy = g.RecordingStrategy.UseOnly
		}
	}
	if m := r.RecordingMode; m != nil {
		s.Frequency, s.Overrides = m.Frequency, m.Overrides
	}
	return s
}

// requestChannel is PutDeliveryChannel's requestParameters deliveryChannel.
type requestChannel struct {
	Name       string `json:"name"`
	Bucket     string `json:"s3BucketName"`
	Prefix     string `json:"s3KeyPrefix"`
	KMSKey     string `json:"s3KmsKeyArn"`
	Topic      string `json:"snsTopicARN"`
	Properties *struct {
		Frequency string `json:"deliveryFrequency"`
	} `json:"configSnapshotDeliveryProperties"`
}

func (c *requestChannel) channel() channelParams {
	cp := channelParams{Name: c.Name, Bucket: c.Bucket, Prefix: c.Prefix, KMSKey: c.KMSKey, Topic: c.Topic}
	if c.Properties != nil {
		cp.Frequency = c.Properties.Frequency
	}
	return cp
}

// judge is the rule's judgement of the region's setup.
func judge(st setup, t rule.Target, p baseline, _ rule.Facts) rule.Finding {
	return decide(st, p, t.Region)
}

// sweep is the region's setup, read once, as one target (the engine never
// sweeps offline).
func sweep(ctx context.Context, env rule.Env, p baseline) ([]rule.Target, error) {
	st, err := describe(ctx, awsclient.Client(env.Session, configservice.NewFromConfig))
	if err != nil {
		return nil, err
	}
	id := p.RecorderName
	if st.Recorder != nil {
		id = st.Recorder.Name
	}
	return []rule.Target{{Type: ResourceType, ID: id, Region: env.Session.Region, State: st}}, nil
}

// apply makes the three restorations and their undos.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	client := awsclient.Client(env.Session, configservice.NewFromConfig)
	switch a.API {
	case apiStart, apiStop, apiPutRecorder, apiDeleteRecorder:
		var rp recorderParams
		if err := a.Decode(&rp); err != nil {
			return err
		}
		if rp.Name == "" {
			return fmt.Errorf("%s: params need recorderName", a.API)
		}
		return applyRecorder(ctx, client, a.API, rp)
	case apiPutChannel, apiDeleteChannel:
		var cp channelParams
		if err := a.Decode(&cp); err != nil {
			return err
		}
		if cp.Name == "" {
			return fmt.Errorf("%s: params need deliveryChannelName", a.API)
		}
		return applyChannel(ctx, client, a.API, cp)
	}
	return fmt.Errorf("config-tampering cannot apply %s", a.API)
}

func applyRecorder(ctx context.Context, client *configservice.Client, api string, rp recorderParams) error {
	name := aws.String(rp.Name)
	var err error
	switch api {
	case apiStart:
		_, err = client.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: name})
	case apiStop:
		_, err = client.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: name})
		if awsclient.HasCode(err, "NoSuchConfigurationRecorderException") {
			return fmt.Errorf("stop recorder %s: it is gone: %w", rp.Name, rule.ErrNoOp)
		}
	case apiPutRecorder:
		if spec := rp.Recorder; spec != nil {
			if spec.Name != rp.Name {
				return fmt.Errorf("%s: recorder %q is not %q", api, spec.Name, rp.Name)
			}
			if err := spec.check(); err != nil {
				return fmt.Errorf("%s: %w", api, err)
			}
			_, err = client.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: spec.sdk()})
			break
		}
		if rp.RoleARN == "" {
			return fmt.Errorf("%s: params need roleArn", api)
		}
		_, err = client.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{
			ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{Name: name, RoleARN: aws.String(rp.RoleARN),
				RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: rp.IncludeGlobal}}})
	case apiDeleteRecorder:
		_, err = client.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: name})
		if awsclient.HasCode(err, "NoSuchConfigurationRecorderException") {
			return fmt.Errorf("delete recorder %s: already gone: %w", rp.Name, rule.ErrNoOp)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", api, rp.Name, err)
	}
	return nil
}

func applyChannel(ctx context.Context, client *configservice.Client, api string, cp channelParams) error {
	var err error
	switch api {
	case apiPutChannel:
		if cp.Bucket == "" {
			return fmt.Errorf("%s: params need s3BucketName", api)
		}
		ch := &cfgtypes.DeliveryChannel{Name: aws.String(cp.Name), S3BucketName: aws.String(cp.Bucket)}
		if cp.Prefix != "" {
			ch.S3KeyPrefix = aws.String(cp.Prefix)
		}
		if cp.Topic != "" {
			ch.SnsTopicARN = aws.String(cp.Topic)
		}
		if cp.KMSKey != "" {
			ch.S3KmsKeyArn = aws.String(cp.KMSKey)
		}
		if cp.Frequency != "" {
			ch.ConfigSnapshotDeliveryProperties = &cfgtypes.ConfigSnapshotDeliveryProperties{DeliveryFrequency: cfgtypes.MaximumExecutionFrequency(cp.Frequency)}
		}
		_, err = client.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: ch})
	case apiDeleteChannel:
		_, err = client.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String(cp.Name)})
		if awsclient.HasCode(err, "NoSuchDeliveryChannelException") {
			return fmt.Errorf("delete delivery channel %s: already gone: %w", cp.Name, rule.ErrNoOp)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", api, cp.Name, err)
	}
	return nil
}
