package configtampering

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
)

const (
	role      = "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
	otherRole = "arn:aws:iam::123456789012:role/config-lite"
)

func all() recorderSpec { return recorderSpec{Name: "default", RoleARN: role, AllSupported: true} }

func with(f func(*recorderSpec)) recorderSpec {
	r := all()
	f(&r)
	return r
}

// judged minus some types, sorted.
func judgedWithout(drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(JudgedTypes), func(t string) bool { return slices.Contains(drop, t) })
}

func TestJudgeRecorder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		rec      recorderSpec
		baseline map[string]string
		problems []string // substrings, one per problem, in order
		want     recorderSpec
	}{
		{"all supported: fine", all(), nil, nil, all()},
		{"all supported with global, baseline asks global: fine", with(func(r *recorderSpec) { r.IncludeGlobal = true }), map[string]string{ParamGlobal: "true"}, nil,
			with(func(r *recorderSpec) { r.IncludeGlobal = true })},
		{"global off where the baseline asks", all(), map[string]string{ParamGlobal: "true"}, []string{"global resource types"},
			with(func(r *recorderSpec) { r.IncludeGlobal = true })},
		{"inclusion list missing judged types, all supported required: back to all supported",
			with(func(r *recorderSpec) { r.AllSupported, r.ResourceTypes = false, []string{"AWS::EC2::Instance"} }), nil,
			[]string{"no longer records all supported resource types (strategy INCLUSION_BY_RESOURCE_TYPES)", "does not record AWS::EC2::EIP"}, all()},
		{"inclusion list with every judged type, all supported not required: fine",
			with(func(r *recorderSpec) {
				r.AllSupported, r.ResourceTypes = false, append(slices.Clone(JudgedTypes), "AWS::RDS::DBInstance")
			}),
			map[string]string{ParamRequireAll: "false"}, nil,
			with(func(r *recorderSpec) {
				r.AllSupported, r.ResourceTypes = false, append(slices.Clone(JudgedTypes), "AWS::RDS::DBInstance")
			})},
		{"inclusion list missing two judged types, not required all: exactly those added",
			with(func(r *recorderSpec) {
				r.AllSupported, r.Strategy, r.ResourceTypes = false, strategyInclusion, append(judgedWithout("AWS::S3::Bucket", "AWS::EC2::VPC"), "AWS::RDS::DBInstance")
			}),
			map[string]string{ParamRequireAll: "false"}, []string{"does not record AWS::EC2::VPC, AWS::S3::Bucket"},
			with(func(r *recorderSpec) {
				r.AllSupported, r.Strategy = false, strategyInclusion
				r.ResourceTypes = append(slices.Clone(JudgedTypes), "AWS::RDS::DBInstance")
				slices.Sort(r.ResourceTypes)
			})},
		{"exclusion of a judged type, not required all: the judged type leaves the exclusions",
			with(func(r *recorderSpec) {
				r.AllSupported, r.Strategy, r.Excluded = false, strategyExclusion, []string{"AWS::EC2::SecurityGroup", "AWS::RDS::DBSnapshot"}
			}),
			map[string]string{ParamRequireAll: "false"}, []string{"does not record AWS::EC2::SecurityGroup"},
			with(func(r *recorderSpec) {
				r.AllSupported, r.Strategy, r.Excluded = false, strategyExclusion, []string{"AWS::RDS::DBSnapshot"}
			})},
		{"exclusion of judged types only, not required all: an empty exclusion is not allowed, so all supported",
			with(func(r *recorderSpec) {
				r.AllSupported, r.Strategy, r.Excluded = false, strategyExclusion, []string{"AWS::EC2::SecurityGroup"}
			}),
			map[string]string{ParamRequireAll: "false"}, []string{"does not record AWS::EC2::SecurityGroup"},
			with(func(r *recorderSpec) { r.Strategy = strategyAll })},
		{"exclusion of other types, all supported required",
			with(func(r *recorderSpec) {
				r.AllSupported, r.Strategy, r.Excluded = false, strategyExclusion, []string{"AWS::RDS::DBSnapshot"}
			}), nil, []string{"no longer records all supported resource types (strategy EXCLUSION_BY_RESOURCE_TYPES)"},
			with(func(r *recorderSpec) { r.Strategy = strategyAll })},
		{"exclusion of IAM types where the baseline asks global",
			with(func(r *recorderSpec) {
				r.AllSupported, r.Strategy, r.Excluded = false, strategyExclusion, []string{"AWS::IAM::User"}
			}), map[string]string{ParamRequireAll: "false", ParamGlobal: "true"},
			[]string{"no longer records all supported resource types"},
			with(func(r *recorderSpec) { r.Strategy, r.IncludeGlobal = strategyAll, true })},
		{"daily by default: a continuous override for the judged types",
			with(func(r *recorderSpec) { r.Frequency = daily }), nil, []string{"only daily"},
			with(func(r *recorderSpec) {
				r.Frequency = daily
				r.Overrides = []modeOverride{{Description: "Rampart: types its Config rules judge", Frequency: continuous, ResourceTypes: JudgedTypes}}
			})},
		{"daily by default with a continuous override: merged into it",
			with(func(r *recorderSpec) {
				r.Frequency = daily
				r.Overrides = []modeOverride{{Description: "mine", Frequency: continuous, ResourceTypes: []string{"AWS::RDS::DBInstance", "AWS::S3::Bucket"}}}
			}), nil, []string{"records " + strings.Join(judgedWithout("AWS::S3::Bucket"), ", ") + " only daily"},
			with(func(r *recorderSpec) {
				r.Frequency = daily
				r.Overrides = []modeOverride{{Description: "mine", Frequency: continuous,
					ResourceTypes: append([]string{"AWS::RDS::DBInstance", "AWS::S3::Bucket"}, judgedWithout("AWS::S3::Bucket")...)}}
			})},
		{"continuous with a daily override of a judged type: the type leaves it",
			with(func(r *recorderSpec) {
				r.Frequency = continuous
				r.Overrides = []modeOverride{{Frequency: daily, ResourceTypes: []string{"AWS::EC2::Instance", "AWS::RDS::DBInstance"}}}
			}), nil, []string{"records AWS::EC2::Instance only daily"},
			with(func(r *recorderSpec) {
				r.Frequency = continuous
				r.Overrides = []modeOverride{{Frequency: daily, ResourceTypes: []string{"AWS::RDS::DBInstance"}}}
			})},
		{"continuous with a daily override of judged types only: the override goes",
			with(func(r *recorderSpec) {
				r.Frequency = continuous
				r.Overrides = []modeOverride{{Frequency: daily, ResourceTypes: []string{"AWS::EC2::Instance"}}}
			}), nil, []string{"only daily"},
			with(func(r *recorderSpec) { r.Frequency = continuous })},
		{"daily override of an unjudged type: fine",
			with(func(r *recorderSpec) {
				r.Frequency = continuous
				r.Overrides = []modeOverride{{Frequency: daily, ResourceTypes: []string{"AWS::RDS::DBInstance"}}}
			}), nil, nil,
			with(func(r *recorderSpec) {
				r.Frequency = continuous
				r.Overrides = []modeOverride{{Frequency: daily, ResourceTypes: []string{"AWS::RDS::DBInstance"}}}
			})},
		{"another role, baseline names one", with(func(r *recorderSpec) { r.RoleARN = otherRole }), map[string]string{ParamRecorderRole: role},
			[]string{"records with role " + otherRole + ", not the baseline's"}, all()},
		{"another role, no baseline role: not judged", with(func(r *recorderSpec) { r.RoleARN = otherRole }), nil, nil,
			with(func(r *recorderSpec) { r.RoleARN = otherRole })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			problems, want := judgeRecorder(c.rec, params(t, c.baseline))
			if len(problems) != len(c.problems) {
				t.Fatalf("problems = %q, want %q", problems, c.problems)
			}
			for i := range problems {
				if !strings.Contains(problems[i], c.problems[i]) {
					t.Fatalf("problem %d = %q, want it to contain %q", i, problems[i], c.problems[i])
				}
			}
			got, _ := json.Marshal(want)
			exp, _ := json.Marshal(c.want)
			if string(got) != string(exp) {
				t.Fatalf("want\n%s, expected\n%s", got, exp)
			}
			if err := want.check(); err != nil {
				t.Fatalf("the restored recorder breaks an API constraint: %v", err)
			}
			// The restored recorder is compliant: judging it again finds nothing.
			if again, _ := judgeRecorder(want, params(t, c.baseline)); len(again) > 0 {
				t.Fatalf("the restored recorder is judged again: %q", again)
			}
		})
	}
}

// The API's recorder constraints: moto 5.2.1 checks the recording group
// but ignores recordingMode altogether, so the mode rules are Rampart's only
// guard against a restore AWS would refuse.
func TestRecorderSpecCheck(t *testing.T) {
	t.Parallel()
	good := []recorderSpec{
		all(),
		with(func(r *recorderSpec) { r.IncludeGlobal, r.Strategy = true, strategyAll }),
		with(func(r *recorderSpec) { r.AllSupported, r.ResourceTypes = false, []string{"AWS::EC2::Instance"} }),
		with(func(r *recorderSpec) {
			r.AllSupported, r.Strategy, r.Excluded = false, strategyExclusion, []string{"AWS::EC2::Instance"}
		}),
		with(func(r *recorderSpec) {
			r.Frequency, r.Overrides = daily, []modeOverride{{Frequency: continuous, ResourceTypes: []string{"AWS::EC2::Instance"}}}
		}),
	}
	for i, r := range good {
		if err := r.check(); err != nil {
			t.Errorf("good %d: %v", i, err)
		}
	}
	bad := map[string]recorderSpec{
		"all supported with resource types": with(func(r *recorderSpec) { r.ResourceTypes = []string{"AWS::EC2::Instance"} }),
		"all supported with exclusions":     with(func(r *recorderSpec) { r.Excluded = []string{"AWS::EC2::Instance"} }),
		"global without all supported": with(func(r *recorderSpec) {
			r.AllSupported, r.IncludeGlobal, r.ResourceTypes = false, true, []string{"AWS::EC2::Instance"}
		}),
		"inclusion without types":      with(func(r *recorderSpec) { r.AllSupported, r.Strategy = false, strategyInclusion }),
		"exclusion without exclusions": with(func(r *recorderSpec) { r.AllSupported, r.Strategy = false, strategyExclusion }),
		"exclusion with all supported": with(func(r *recorderSpec) { r.Strategy, r.Excluded = strategyExclusion, []string{"AWS::EC2::Instance"} }),
		"unknown strategy":             with(func(r *recorderSpec) { r.Strategy = "SOME" }),
		"no role":                      with(func(r *recorderSpec) { r.RoleARN = "" }),
		"bad frequency":                with(func(r *recorderSpec) { r.Frequency = "HOURLY" }),
		"override without a default": with(func(r *recorderSpec) {
			r.Overrides = []modeOverride{{Frequency: daily, ResourceTypes: []string{"AWS::EC2::Instance"}}}
		}),
		"override without types": with(func(r *recorderSpec) { r.Frequency, r.Overrides = continuous, []modeOverride{{Frequency: daily}} }),
		"two overrides (the API takes one)": with(func(r *recorderSpec) {
			r.Frequency = continuous
			r.Overrides = []modeOverride{{Frequency: daily, ResourceTypes: []string{"AWS::EC2::Instance"}}, {Frequency: daily, ResourceTypes: []string{"AWS::EC2::VPC"}}}
		}),
	}
	for name, r := range bad {
		if err := r.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestJudgeChannel(t *testing.T) {
	t.Parallel()
	ch := channelParams{Name: "default", Bucket: "config-bucket-123456789012", Prefix: "config", Frequency: "Six_Hours", KMSKey: "arn:aws:kms:us-east-1:123456789012:key/k"}
	base := map[string]string{ParamBucket: "config-bucket-123456789012", ParamPrefix: "config"}
	if problems, _ := judgeChannel(ch, params(t, base)); len(problems) > 0 {
		t.Fatalf("baseline channel: %q", problems)
	}
	if problems, _ := judgeChannel(channelParams{Name: "default", Bucket: "elsewhere"}, params(t, nil)); len(problems) > 0 {
		t.Fatalf("no baseline bucket, yet judged: %q", problems)
	}
	redirected := ch
	redirected.Bucket, redirected.Prefix, redirected.Topic = "exfil", "", "arn:aws:sns:us-east-1:210987654321:exfil"
	problems, want := judgeChannel(redirected, params(t, base))
	if len(problems) != 2 || !strings.Contains(problems[0], "delivers to s3://exfil, not the baseline's s3://config-bucket-123456789012/config") ||
		!strings.Contains(problems[1], "notifies") {
		t.Fatalf("problems = %q", problems)
	}
	if want != ch { // the name, frequency and KMS key stay
		t.Fatalf("restored = %+v, want %+v", want, ch)
	}
}

// Offline, a Put event is judged from what it asked for.
func TestPutEventsOffline(t *testing.T) {
	t.Parallel()
	cl := enginetest.Call(t, "events/cloudtrail/config-put-configuration-recorder-narrowed.json")
	ts, err := bind(t).Targets(cl)
	if err != nil {
		t.Fatal(err)
	}
	ev := ts[0].Evidence.(evidence)
	if ev.Recorder == nil || ev.Recorder.AllSupported || ev.Recorder.Frequency != daily || len(ev.Recorder.ResourceTypes) != 2 {
		t.Fatalf("evidence = %+v", ev.Recorder)
	}
	f := decide(assumed(ev, params(t, map[string]string{ParamRecorderRole: role})), params(t, map[string]string{ParamRecorderRole: role}), "us-east-1")
	if got := apis(f.Actions); !slices.Equal(got, []string{rule.AlertAPI, apiPutRecorder}) || !strings.Contains(f.Reason, "only daily") {
		t.Fatalf("plan = %v: %s", got, f.Reason)
	}
	cl = enginetest.Call(t, "events/cloudtrail/config-put-delivery-channel-redirected.json")
	ts, err = bind(t).Targets(cl)
	if err != nil {
		t.Fatal(err)
	}
	p := params(t, map[string]string{ParamBucket: "config-bucket-123456789012"})
	f = decide(assumed(ts[0].Evidence.(evidence), p), p, "us-east-1")
	if got := apis(f.Actions); !slices.Equal(got, []string{rule.AlertAPI, apiPutChannel}) || !strings.Contains(f.Reason, "s3://exfil-config-210987654321") {
		t.Fatalf("plan = %v: %s", got, f.Reason)
	}
	// Without a baseline role the narrowed recorder is an alert only.
	p = params(t, nil)
	f = decide(assumed(ev, p), p, "us-east-1")
	if got := apis(f.Actions); !slices.Equal(got, []string{rule.AlertAPI}) || !strings.Contains(f.Reason, "recorderRoleArn is not set") {
		t.Fatalf("plan = %v: %s", got, f.Reason)
	}
}
