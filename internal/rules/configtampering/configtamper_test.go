package configtampering

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestTargetsOfSampleEvents(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ file, id, typ, event string }{
		{"config-stop-configuration-recorder.json", "default", ResourceType, "StopConfigurationRecorder"},
		{"config-delete-configuration-recorder.json", "default", ResourceType, "DeleteConfigurationRecorder"},
		{"config-delete-delivery-channel.json", "default", channelType, "DeleteDeliveryChannel"},
		{"config-put-configuration-recorder-narrowed.json", "default", ResourceType, "PutConfigurationRecorder"},
		{"config-put-delivery-channel-redirected.json", "default", channelType, "PutDeliveryChannel"},
	} {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			cl := enginetest.Call(t, "events/cloudtrail/"+c.file)
			if !Rule.Meta().CloudTrail[0].Matches(cl) {
				t.Fatalf("the rule's trigger does not match %s", c.file)
			}
			ts, err := bind(t).Targets(cl)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != 1 || ts[0].ID != c.id || ts[0].Type != c.typ || ts[0].Region != "us-east-1" {
				t.Fatalf("targets = %+v", ts)
			}
			if ev := ts[0].Evidence.(evidence); ev.Event != c.event || ev.Name != c.id {
				t.Fatalf("evidence = %+v", ev)
			}
		})
	}
}

func TestTargetsRejectsMalformed(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"array":          `["default"]`,
		"no name":        `{}`,
		"null":           `null`,
		"name not text":  `{"configurationRecorderName": 7}`,
		"other key only": `{"deliveryChannelName": "default"}`,
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cl := enginetest.Call(t, "events/cloudtrail/config-stop-configuration-recorder.json")
			cl.Request = []byte(req)
			if _, err := bind(t).Targets(cl); !errors.Is(err, trigger.ErrInput) {
				t.Fatalf("err = %v, want ErrInput", err)
			}
		})
	}
	for name, req := range map[string]string{"recorder null": `{"configurationRecorder": null}`, "recorder without name": `{"configurationRecorder": {"roleARN": "arn:aws:iam::1:role/r"}}`,
		"group not an object": `{"configurationRecorder": {"name": "default", "recordingGroup": []}}`} {
		cl := enginetest.Call(t, "events/cloudtrail/config-put-configuration-recorder-narrowed.json")
		cl.Request = []byte(req)
		if _, err := bind(t).Targets(cl); !errors.Is(err, trigger.ErrInput) {
			t.Fatalf("%s: err = %v, want ErrInput", name, err)
		}
	}
	cl := enginetest.Call(t, "events/cloudtrail/config-stop-configuration-recorder.json")
	cl.EventName = "StartConfigurationRecorder"
	if ts, err := bind(t).Targets(cl); ts != nil || err != nil {
		t.Fatalf("StartConfigurationRecorder: %+v, %v", ts, err)
	}
}

// params resolves and parses a baseline, as binding the rule does.
func params(t *testing.T, over map[string]string) baseline {
	t.Helper()
	p, err := Rule.Meta().Resolve(over)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parse(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bind(t *testing.T) *rule.Bound {
	t.Helper()
	b, err := rule.BindWith(Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var fullBaseline = map[string]string{ParamRecorderRole: "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
	ParamBucket: "config-bucket-123456789012", ParamPrefix: "config", ParamFrequency: "Six_Hours"}

func apis(actions []rule.Action) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = a.API
		if a.API != rule.AlertAPI && (a.Undo == nil || a.Undo.Undo != nil) {
			out[i] += " (bad undo)"
		}
	}
	return out
}

func TestJudge(t *testing.T) {
	t.Parallel()
	recording := &recorder{Name: "default", Recording: true}
	stopped := &recorder{Name: "default"}
	cases := []struct {
		name     string
		st       setup
		baseline map[string]string
		verdict  rule.Verdict
		apis     []string
		inReason string
	}{
		{"recording with a channel", setup{Recorder: recording, Channel: "default", Known: true}, nil, rule.Compliant, []string{}, "is recording"},
		{"stopped: start it, no alert", setup{Recorder: stopped, Channel: "default", Known: true}, nil, rule.Violation,
			[]string{apiStart}, "recorder default is stopped"},
		{"recorder deleted, no baseline: alert only", setup{Channel: "default", Known: true}, nil, rule.Violation,
			[]string{rule.AlertAPI}, "recorderRoleArn is not set"},
		{"recorder deleted, baseline: alert, recreate, start", setup{Channel: "default", Known: true}, fullBaseline, rule.Violation,
			[]string{rule.AlertAPI, apiPutRecorder, apiStart}, "no configuration recorder in us-east-1"},
		{"channel deleted, no baseline: alert, cannot start", setup{Recorder: stopped, Known: true}, nil, rule.Violation,
			[]string{rule.AlertAPI}, "cannot be started without a delivery channel"},
		{"channel deleted, baseline: alert, recreate, start", setup{Recorder: stopped, Known: true}, fullBaseline, rule.Violation,
			[]string{rule.AlertAPI, apiPutChannel, apiStart}, "no delivery channel"},
		{"channel deleted while recording (impossible on AWS): recreate only", setup{Recorder: recording, Known: true}, fullBaseline, rule.Violation,
			[]string{rule.AlertAPI, apiPutChannel}, "no delivery channel"},
		{"everything gone, baseline: both recreated in order", setup{Known: true}, fullBaseline, rule.Violation,
			[]string{rule.AlertAPI, rule.AlertAPI, apiPutRecorder, apiPutChannel, apiStart}, "no configuration recorder"},
		{"everything gone, bucket only: no recorder to hang the channel on", setup{Known: true}, map[string]string{ParamBucket: "b"}, rule.Violation,
			[]string{rule.AlertAPI, rule.AlertAPI}, "cannot be recreated without a recorder"},
		{"assumed from an event", setup{Recorder: stopped, Channel: "default"}, nil, rule.Violation, []string{apiStart}, "as the event implies"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := judge(c.st, rule.Target{Type: ResourceType, ID: "default", Region: "us-east-1"}, params(t, c.baseline), rule.Facts{})
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.inReason) {
				t.Fatalf("finding = %s %q, want %s containing %q", f.Verdict, f.Reason, c.verdict, c.inReason)
			}
			if got := apis(f.Actions); !slices.Equal(got, c.apis) {
				t.Fatalf("actions = %v, want %v", got, c.apis)
			}
		})
	}
}

// The recreated channel carries the whole baseline; its undo only the name.
func TestRecreatedChannelParams(t *testing.T) {
	t.Parallel()
	f := decide(setup{Recorder: &recorder{Name: "main"}, Known: true}, params(t, fullBaseline), "")
	var put rule.Action
	for _, a := range f.Actions {
		if a.API == apiPutChannel {
			put = a
		}
	}
	var cp channelParams
	if err := put.Decode(&cp); err != nil {
		t.Fatal(err)
	}
	if cp != (channelParams{Name: "default", Bucket: "config-bucket-123456789012", Prefix: "config", Frequency: "Six_Hours"}) {
		t.Fatalf("params = %+v", cp)
	}
	if put.Undo.API != apiDeleteChannel || string(put.Undo.Params) != `{"deliveryChannelName":"default"}` {
		t.Fatalf("undo = %+v", put.Undo)
	}
	// The existing recorder's own name is started, not the parameter's.
	last := f.Actions[len(f.Actions)-1]
	if last.API != apiStart || last.Target != "main" {
		t.Fatalf("start = %+v", last)
	}
}

func TestParamChecks(t *testing.T) {
	t.Parallel()
	for name, over := range map[string]map[string]string{
		"role not an ARN":  {ParamRecorderRole: "config-role"},
		"topic not an ARN": {ParamTopic: "alerts"},
		"bad frequency":    {ParamFrequency: "Daily"},
		"bad bool":         {ParamGlobal: "sometimes"},
		"empty name":       {ParamRecorderName: ""},
	} {
		if _, err := Rule.Meta().Resolve(over); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The typed baseline is parsed once; the booleans are booleans.
func TestParse(t *testing.T) {
	t.Parallel()
	b := params(t, map[string]string{ParamGlobal: "true", ParamRequireAll: "false", ParamBucket: "b", ParamTopic: "arn:aws:sns:us-east-1:1:t"})
	if !b.Global || b.RequireAll || b.Bucket != "b" || b.RecorderName != "default" || b.ChannelName != "default" || b.Topic != "arn:aws:sns:us-east-1:1:t" {
		t.Fatalf("baseline = %+v", b)
	}
	if _, err := parse(rule.Params{ParamGlobal: "sometimes", ParamRequireAll: "true"}); err == nil {
		t.Fatal("a bad boolean parsed")
	}
}

// Offline, a target no call describes is undecided; an event's is the
// setup it implies.
func TestPlan(t *testing.T) {
	t.Parallel()
	p := params(t, nil)
	if _, err := plan(rule.Target{ID: "default"}, p); !errors.Is(err, rule.ErrUndecided) || err.Error() != "offline: the trigger says nothing about the Config setup" {
		t.Fatalf("plan without evidence = %v", err)
	}
	st, err := plan(rule.Target{ID: "default", Evidence: evidence{Event: "DeleteDeliveryChannel", Name: "default"}}, p)
	if err != nil || st.Known || st.Channel != "" || st.Recorder == nil || st.Recorder.Recording || st.Recorder.Name != "default" {
		t.Fatalf("plan after DeleteDeliveryChannel = %+v, %v", st, err)
	}
}
