package configtampering

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
)

// JudgedTypes are the resource types Rampart's own Config rules evaluate on
// change: a recorder that stops recording one of them (or records it only
// daily) blinds that rule. internal/catalog cannot be imported here (it imports
// this package); its test checks that every rule's Config.ResourceTypes is
// listed, so a new Config rule fails the build until it is added.
var JudgedTypes = []string{
	"AWS::EC2::EIP",
	"AWS::EC2::Instance",
	"AWS::EC2::SecurityGroup",
	"AWS::EC2::VPC",
	"AWS::EC2::Volume",
	"AWS::S3::AccountPublicAccessBlock",
	"AWS::S3::Bucket",
}

// globalTypes are the IAM types includeGlobalResourceTypes adds.
var globalTypes = []string{"AWS::IAM::Group", "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::User"}

// Recording strategies and frequencies, as the API spells them.
const (
	strategyAll       = string(cfgtypes.RecordingStrategyTypeAllSupportedResourceTypes)
	strategyInclusion = string(cfgtypes.RecordingStrategyTypeInclusionByResourceTypes)
	strategyExclusion = string(cfgtypes.RecordingStrategyTypeExclusionByResourceTypes)
	continuous        = string(cfgtypes.RecordingFrequencyContinuous)
	daily             = string(cfgtypes.RecordingFrequencyDaily)
)

// recorderSpec is a recorder's whole configuration as PutConfigurationRecorder
// takes it: plans carry it so a restore and its undo are exact.
type recorderSpec struct {
	Name          string         `json:"name"`
	RoleARN       string         `json:"roleArn"`
	AllSupported  bool           `json:"allSupported"`
	IncludeGlobal bool           `json:"includeGlobalResourceTypes,omitempty"`
	ResourceTypes []string       `json:"resourceTypes,omitempty"`
	Strategy      string         `json:"recordingStrategy,omitempty"`
	Excluded      []string       `json:"exclusionByResourceTypes,omitempty"`
	Frequency     string         `json:"recordingFrequency,omitempty"`
	Overrides     []modeOverride `json:"recordingModeOverrides,omitempty"`
}

type modeOverride struct {
	Description   string   `json:"description,omitempty"`
	Frequency     string   `json:"recordingFrequency"`
	ResourceTypes []string `json:"resourceTypes"`
}

// strategy is the effective recording strategy: the API lets it be omitted
// when allSupported or resourceTypes says it.
func (r *recorderSpec) strategy() string {
	switch {
	case r.Strategy != "":
		return r.Strategy
	case r.AllSupported:
		return strategyAll
	default:
		return strategyInclusion
	}
}

// records reports whether the recorder's group covers a resource type.
func (r *recorderSpec) records(typ string) bool {
	switch r.strategy() {
	case strategyAll:
		return !slices.Contains(globalTypes, typ) || r.IncludeGlobal
	case strategyExclusion:
		return !slices.Contains(r.Excluded, typ)
	default:
		return slices.Contains(r.ResourceTypes, typ)
	}
}

// frequency is how often a type is recorded: its override's frequency, else
// the default (CONTINUOUS when the recorder names no mode).
func (r *recorderSpec) frequency(typ string) string {
	for _, o := range r.Overrides {
		if slices.Contains(o.ResourceTypes, typ) {
			return o.Frequency
		}
	}
	if r.Frequency == "" {
		return continuous
	}
	return r.Frequency
}

// clone deep-copies the spec.
func (r recorderSpec) clone() recorderSpec {
	r.ResourceTypes = slices.Clone(r.ResourceTypes)
	r.Excluded = slices.Clone(r.Excluded)
	os := make([]modeOverride, len(r.Overrides))
	for i, o := range r.Overrides {
		o.ResourceTypes = slices.Clone(o.ResourceTypes)
		os[i] = o
	}
	if len(os) == 0 {
		os = nil
	}
	r.Overrides = os
	return r
}

// check enforces the API's constraints on a recorder before Rampart puts
// one, including those moto 5.2.1 does not check (it ignores recordingMode
// altogether): a bad spec is an error and no call.
func (r *recorderSpec) check() error {
	var errs []string
	if r.Name == "" || r.RoleARN == "" {
		errs = append(errs, "a name and a role are required")
	}
	switch r.strategy() {
	case strategyAll:
		if !r.AllSupported || len(r.ResourceTypes) > 0 || len(r.Excluded) > 0 {
			errs = append(errs, "ALL_SUPPORTED_RESOURCE_TYPES needs allSupported=true and no resourceTypes or exclusions")
		}
	case strategyInclusion:
		if r.AllSupported || r.IncludeGlobal || len(r.ResourceTypes) == 0 || len(r.Excluded) > 0 {
			errs = append(errs, "INCLUSION_BY_RESOURCE_TYPES needs allSupported=false, includeGlobalResourceTypes=false, resourceTypes and no exclusions")
		}
	case strategyExclusion:
		if r.AllSupported || r.IncludeGlobal || len(r.ResourceTypes) > 0 || len(r.Excluded) == 0 {
			errs = append(errs, "EXCLUSION_BY_RESOURCE_TYPES needs allSupported=false, includeGlobalResourceTypes=false, no resourceTypes and exclusions")
		}
	default:
		errs = append(errs, fmt.Sprintf("unknown recording strategy %q", r.Strategy))
	}
	if r.IncludeGlobal && !r.AllSupported {
		errs = append(errs, "includeGlobalResourceTypes needs allSupported=true")
	}
	if r.Frequency != "" && r.Frequency != continuous && r.Frequency != daily {
		errs = append(errs, fmt.Sprintf("recording frequency %q", r.Frequency))
	}
	if len(r.Overrides) > 0 && r.Frequency == "" {
		errs = append(errs, "recordingModeOverrides need a default recordingFrequency")
	}
	// The API takes at most one override (RecordingMode.recordingModeOverrides:
	// "Array Members: Maximum number of 1 item").
	if len(r.Overrides) > 1 {
		errs = append(errs, "at most one recording mode override")
	}
	for _, o := range r.Overrides {
		if (o.Frequency != continuous && o.Frequency != daily) || len(o.ResourceTypes) == 0 {
			errs = append(errs, "a recording mode override needs a frequency and resource types")
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("recorder %s: %s", r.Name, strings.Join(errs, "; "))
	}
	return nil
}

// sdk is the spec as the SDK takes it.
func (r *recorderSpec) sdk() *cfgtypes.ConfigurationRecorder {
	g := &cfgtypes.RecordingGroup{AllSupported: r.AllSupported, IncludeGlobalResourceTypes: r.IncludeGlobal}
	for _, t := range r.ResourceTypes {
		g.ResourceTypes = append(g.ResourceTypes, cfgtypes.ResourceType(t))
	}
	if len(r.Excluded) > 0 {
		ex := &cfgtypes.ExclusionByResourceTypes{}
		for _, t := range r.Excluded {
			ex.ResourceTypes = append(ex.ResourceTypes, cfgtypes.ResourceType(t))
		}
		g.ExclusionByResourceTypes = ex
	}
	if r.Strategy != "" {
		g.RecordingStrategy = &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyType(r.Strategy)}
	}
	out := &cfgtypes.ConfigurationRecorder{Name: aws.String(r.Name), RoleARN: aws.String(r.RoleARN), RecordingGroup: g}
	if r.Frequency != "" {
		m := &cfgtypes.RecordingMode{RecordingFrequency: cfgtypes.RecordingFrequency(r.Frequency)}
		for _, o := range r.Overrides {
			ov := cfgtypes.RecordingModeOverride{RecordingFrequency: cfgtypes.RecordingFrequency(o.Frequency)}
			if o.Description != "" {
				ov.Description = aws.String(o.Description)
			}
			for _, t := range o.ResourceTypes {
				ov.ResourceTypes = append(ov.ResourceTypes, cfgtypes.ResourceType(t))
			}
			m.RecordingModeOverrides = append(m.RecordingModeOverrides, ov)
		}
		out.RecordingMode = m
	}
	return out
}

// specOf reads a described recorder.
func specOf(c *cfgtypes.ConfigurationRecorder) recorderSpec {
	r := recorderSpec{Name: aws.ToString(c.Name), RoleARN: aws.ToString(c.RoleARN)}
	if g := c.RecordingGroup; g != nil {
		r.AllSupported, r.IncludeGlobal = g.AllSupported, g.IncludeGlobalResourceTypes
		for _, t := range g.ResourceTypes {
			r.ResourceTypes = append(r.ResourceTypes, string(t))
		}
		if g.ExclusionByResourceTypes != nil {
			for _, t := range g.ExclusionByResourceTypes.ResourceTypes {
				r.Excluded = append(r.Excluded, string(t))
			}
		}
		if g.RecordingStrategy != nil {
			r.Strategy = string(g.RecordingStrategy.UseOnly)
		}
	} else {
		// No group: AWS records all supported types.
		r.AllSupported = true
	}
	if m := c.RecordingMode; m != nil {
		r.Frequency = string(m.RecordingFrequency)
		for _, o := range m.RecordingModeOverrides {
			ov := modeOverride{Description: aws.ToString(o.Description), Frequency: string(o.RecordingFrequency)}
			for _, t := range o.ResourceTypes {
				ov.ResourceTypes = append(ov.ResourceTypes, string(t))
			}
			r.Overrides = append(r.Overrides, ov)
		}
	}
	return r
}

// judgeRecorder is the recorder part of the rule: what narrows the
// recording, and the recorder that records what the baseline asks while
// changing nothing else. p's recordAllSupported and
// includeGlobalResourceTypes say what the baseline asks; its role, when
// named, is the role the recorder must use.
func judgeRecorder(r recorderSpec, p baseline) (problems []string, want recorderSpec) {
	want = r.clone()
	requireAll, global := p.RequireAll, p.Global

	// Coverage.
	var missing []string
	for _, t := range JudgedTypes {
		if !r.records(t) {
			missing = append(missing, t)
		}
	}
	switch {
	case !r.AllSupported && (requireAll || global):
		problems = append(problems, fmt.Sprintf("recorder %s no longer records all supported resource types (strategy %s)", r.Name, r.strategy()))
		if len(missing) > 0 {
			problems = append(problems, "it does not record "+strings.Join(missing, ", ")+", which Rampart's Config rules judge")
		}
		want.AllSupported, want.IncludeGlobal, want.ResourceTypes, want.Excluded = true, global, nil, nil
		want.Strategy = ""
		if r.Strategy != "" {
			want.Strategy = strategyAll
		}
	case len(missing) > 0:
		problems = append(problems, fmt.Sprintf("recorder %s does not record %s, which Rampart's Config rules judge", r.Name, strings.Join(missing, ", ")))
		if r.strategy() == strategyExclusion {
			want.Excluded = slices.DeleteFunc(want.Excluded, func(t string) bool { return slices.Contains(JudgedTypes, t) })
			if len(want.Excluded) == 0 { // an exclusion list may not be empty
				want.AllSupported, want.Excluded, want.Strategy = true, nil, strategyAll
			}
		} else {
			want.ResourceTypes = append(want.ResourceTypes, missing...)
			slices.Sort(want.ResourceTypes)
		}
	}
	if global && slices.ContainsFunc(globalTypes, func(t string) bool { return !want.records(t) }) {
		problems = append(problems, fmt.Sprintf("recorder %s does not record the global resource types (IAM), which the baseline asks for", r.Name))
		if !want.AllSupported {
			want.ResourceTypes, want.Excluded = nil, nil
			if want.Strategy != "" {
				want.Strategy = strategyAll
			}
		}
		want.AllSupported, want.IncludeGlobal = true, true
	}

	// Recording frequency: a judged type recorded DAILY yields at most one
	// configuration item a day, so Rampart's change-triggered Config rules
	// see a change up to a day late. That is narrowing too.
	var dailyTypes []string
	for _, t := range JudgedTypes {
		if want.records(t) && want.frequency(t) == daily {
			dailyTypes = append(dailyTypes, t)
		}
	}
	if len(dailyTypes) > 0 {
		problems = append(problems, fmt.Sprintf("recorder %s records %s only daily: Rampart's Config rules would see their changes up to a day late", r.Name, strings.Join(dailyTypes, ", ")))
		if want.Frequency == daily {
			// Keep the daily default; one CONTINUOUS override (the API takes
			// one) for the judged types, merged into an existing CONTINUOUS one.
			o := modeOverride{Description: "Rampart: types its Config rules judge", Frequency: continuous}
			if len(want.Overrides) == 1 && want.Overrides[0].Frequency == continuous {
				o = want.Overrides[0]
			}
			for _, t := range dailyTypes {
				if !slices.Contains(o.ResourceTypes, t) {
					o.ResourceTypes = append(o.ResourceTypes, t)
				}
			}
			want.Overrides = []modeOverride{o}
		} else {
			var kept []modeOverride
			for _, o := range want.Overrides {
				if o.Frequency == daily {
					o.ResourceTypes = slices.DeleteFunc(o.ResourceTypes, func(t string) bool { return slices.Contains(dailyTypes, t) })
				}
				if len(o.ResourceTypes) > 0 {
					kept = append(kept, o)
				}
			}
			want.Overrides = kept
		}
	}

	// Role.
	if role := p.RecorderRole; role != "" && r.RoleARN != role {
		problems = append(problems, fmt.Sprintf("recorder %s records with role %s, not the baseline's %s", r.Name, r.RoleARN, role))
		want.RoleARN = role
	}
	return problems, want
}

// judgeChannel is the delivery-channel part: with a baseline bucket, the
// channel must deliver to exactly the baseline's bucket, prefix and topic.
// The restored channel keeps its name, snapshot frequency (unless the
// baseline names one) and KMS key.
func judgeChannel(c channelParams, p baseline) (problems []string, want channelParams) {
	want = c
	bucket := p.Bucket
	if bucket == "" {
		return nil, want
	}
	if c.Bucket != bucket || c.Prefix != p.Prefix {
		problems = append(problems, fmt.Sprintf("delivery channel %s delivers to %s, not the baseline's %s", c.Name, s3URL(c.Bucket, c.Prefix), s3URL(bucket, p.Prefix)))
	}
	if c.Topic != p.Topic {
		problems = append(problems, fmt.Sprintf("delivery channel %s notifies %q, not the baseline's %q", c.Name, c.Topic, p.Topic))
	}
	want.Bucket, want.Prefix, want.Topic = bucket, p.Prefix, p.Topic
	if f := p.Frequency; f != "" {
		want.Frequency = f
	}
	return problems, want
}

func s3URL(bucket, prefix string) string {
	if prefix == "" {
		return "s3://" + bucket
	}
	return "s3://" + bucket + "/" + prefix
}

// channelOf reads a described delivery channel.
func channelOf(c *cfgtypes.DeliveryChannel) channelParams {
	cp := channelParams{Name: aws.ToString(c.Name), Bucket: aws.ToString(c.S3BucketName), Prefix: aws.ToString(c.S3KeyPrefix),
		Topic: aws.ToString(c.SnsTopicARN), KMSKey: aws.ToString(c.S3KmsKeyArn)}
	if d := c.ConfigSnapshotDeliveryProperties; d != nil {
		cp.Frequency = string(d.DeliveryFrequency)
	}
	return cp
}
