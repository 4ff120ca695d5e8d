package trigger

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eventFiles lists the sample payloads under events/<dir>.
func eventFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "events", dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".md") {
			out = append(out, f)
		}
	}
	return out
}

func TestEverySampleDecodesToItsKind(t *testing.T) {
	t.Parallel()
	kinds := map[string]Kind{"cloudtrail": KindAPICall, "raw": KindAPICall, "signin": KindSignIn, "config": KindConfig, "schedule": KindSchedule}
	seen := 0
	for dir, want := range kinds {
		for _, f := range eventFiles(t, dir) {
			want := want
			seen++
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := Decode(raw)
			if strings.Contains(f, "bad-rule-parameters") {
				if !errors.Is(err, ErrInput) {
					t.Errorf("%s: err = %v, want ErrInput", f, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if dir == "raw" && strings.Contains(filepath.Base(f), "console-login") {
				want = KindSignIn // a bare sign-in record
			}
			if tr.Kind != want {
				t.Errorf("%s: kind %s, want %s", f, tr.Kind, want)
			}
			if c := tr.Call; c != nil && (c.EventName == "" || c.EventSource == "" || c.Time.IsZero() || c.Region == "" || c.Account == "") {
				t.Errorf("%s: incomplete call %+v", f, c)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d sample events found", seen)
	}
}

func TestInvalidSamplesAreBadInput(t *testing.T) {
	t.Parallel()
	files := eventFiles(t, "invalid")
	if len(files) == 0 {
		t.Fatal("no invalid samples")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(filepath.Base(f), "authorize-") {
			continue // well-formed envelopes; the rule rejects their parameters
		}
		if _, err := Decode(raw); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", f, err)
		}
	}
}

func TestDecodeShapes(t *testing.T) {
	t.Parallel()
	record := `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/ops/alice",
		"accountId":"123456789012","accessKeyId":"ASIAEXAMPLE","sessionContext":{"attributes":{"mfaAuthenticated":"true"},
		"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/ops","userName":"ops"}}},
		"eventTime":"2026-11-26T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress",
		"awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.1","userAgent":"console.amazonaws.com",
		"requestParameters":{"groupId":"sg-1"},"responseElements":null,"eventID":"id-1","readOnly":false,
		"eventType":"AwsApiCall","recipientAccountId":"123456789012"}`
	envelope := `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"123456789012",
		"time":"2026-11-26T10:00:01Z","region":"eu-west-1","resources":[],"detail":` + record + `}`
	cases := []struct {
		name    string
		payload string
		check   func(t *testing.T, tr *Trigger)
		wantErr string
	}{
		{name: "eventbridge", payload: envelope, check: func(t *testing.T, tr *Trigger) {
			c := tr.Call
			if tr.Kind != KindAPICall || c.Actor.IssuerARN != "arn:aws:iam::123456789012:role/ops" || !c.Actor.MFA ||
				c.Actor.AccessKeyID != "ASIAEXAMPLE" || c.Region != "eu-west-1" || c.SourceIP != "198.51.100.1" ||
				!c.Time.Equal(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)) || string(c.Response) != "null" {
				t.Fatalf("call = %+v", c)
			}
		}},
		{name: "raw record", payload: record, check: func(t *testing.T, tr *Trigger) {
			if tr.Kind != KindAPICall || tr.Call.EventID != "id-1" {
				t.Fatalf("%+v", tr)
			}
		}},
		{name: "failed call", payload: strings.Replace(record, `"eventID"`, `"errorCode":"Client.DryRunOperation","eventID"`, 1), check: func(t *testing.T, tr *Trigger) {
			if !tr.Call.Failed() {
				t.Fatal("a call with errorCode must be Failed")
			}
		}},
		{name: "sign-in MFA from additionalEventData", payload: `{"version":"0","id":"s","detail-type":"AWS Console Signin via CloudTrail","source":"aws.signin",
			"account":"123456789012","time":"2026-11-26T10:00:00Z","region":"us-east-1","resources":[],"detail":{"eventVersion":"1.08",
			"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/bob","accountId":"123456789012","userName":"bob"},
			"eventTime":"2026-11-26T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1",
			"sourceIPAddress":"203.0.113.5","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},
			"additionalEventData":{"MFAUsed":"Yes"},"eventID":"s1","eventType":"AwsConsoleSignIn","recipientAccountId":"123456789012"}}`,
			check: func(t *testing.T, tr *Trigger) {
				if tr.Kind != KindSignIn || !tr.Call.Actor.MFA {
					t.Fatalf("%+v", tr.Call)
				}
			}},
		{name: "config with numeric parameter", payload: `{"invokingEvent":"{\"messageType\":\"ScheduledNotification\",\"notificationCreationTime\":\"2026-11-26T10:00:00.000Z\",\"awsAccountId\":\"123456789012\"}",
			"ruleParameters":"{\"maxAgeDays\":90,\"ports\":\"22\"}","resultToken":"TESTMODE","eventLeftScope":false,"configRuleName":"rampart-x"}`,
			check: func(t *testing.T, tr *Trigger) {
				c := tr.Config
				if c.MessageType != MsgScheduled || c.Params["maxAgeDays"] != "90" || c.Params["ports"] != "22" || c.NotificationTime.IsZero() {
					t.Fatalf("%+v", c)
				}
			}},
		{name: "schedule", payload: `{"version":"0","id":"t","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-26T00:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/rampart-x-sweep"],"detail":{}}`,
			check: func(t *testing.T, tr *Trigger) {
				if tr.Kind != KindSchedule || len(tr.Schedule.Resources) != 1 {
					t.Fatalf("%+v", tr.Schedule)
				}
			}},
		{name: "empty", payload: "  ", wantErr: "empty payload"},
		{name: "array", payload: "[]", wantErr: "not a JSON object"},
		{name: "truncated", payload: `{"detail-type":`, wantErr: "not valid JSON"},
		{name: "log file", payload: `{"Records":[]}`, wantErr: "log file"},
		{name: "unknown", payload: `{"hello":"world"}`, wantErr: "unrecognised payload"},
		{name: "no detail", payload: `{"detail-type":"AWS API Call via CloudTrail"}`, wantErr: "has no detail"},
		{name: "bad time", payload: strings.Replace(record, "2026-11-26T10:00:00Z", "yesterday", 1), wantErr: "eventTime"},
		{name: "missing names", payload: `{"eventSource":"ec2.amazonaws.com","eventName":"","eventTime":""}`, wantErr: "lacks eventName, eventTime"},
		{name: "config invokingEvent object", payload: `{"invokingEvent":{}}`, wantErr: "invokingEvent"},
		{name: "config no token", payload: `{"invokingEvent":"{\"messageType\":\"ScheduledNotification\"}"}`, wantErr: "resultToken"},
		{name: "config bad type", payload: `{"invokingEvent":"{\"messageType\":\"Nope\"}","resultToken":"t"}`, wantErr: "unsupported Config messageType"},
		{name: "config change without item", payload: `{"invokingEvent":"{\"messageType\":\"ConfigurationItemChangeNotification\"}","resultToken":"t"}`, wantErr: "without a configurationItem"},
		{name: "config bad parameters", payload: `{"invokingEvent":"{\"messageType\":\"ScheduledNotification\"}","resultToken":"t","ruleParameters":"{nope"}`, wantErr: "ruleParameters"},
		{name: "config nested parameter", payload: `{"invokingEvent":"{\"messageType\":\"ScheduledNotification\"}","resultToken":"t","ruleParameters":"{\"a\":{}}"}`, wantErr: "must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Decode([]byte(tc.payload))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInput containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, tr)
		})
	}
}

func TestWireHelpers(t *testing.T) {
	t.Parallel()
	type item struct {
		A string `json:"a"`
	}
	var v struct {
		Port1 Int          `json:"p1"`
		Port2 Int          `json:"p2"`
		Port3 Int          `json:"p3"`
		L1    List[item]   `json:"l1"`
		L2    List[item]   `json:"l2"`
		L3    List[item]   `json:"l3"`
		L4    List[item]   `json:"l4"`
		L5    List[item]   `json:"l5"`
		S1    String       `json:"s1"`
		S2    String       `json:"s2"`
		B1    Bool         `json:"b1"`
		B2    Bool         `json:"b2"`
		L6    List[string] `json:"l6"`
	}
	in := `{"p1":22,"p2":"3389","p3":null,"l1":[{"a":"x"},{"a":"y"}],"l2":{"a":"one"},"l3":{"items":[{"a":"i"}]},"l4":{},"l5":"",
		"s1":["bucket.s3.amazonaws.com"],"s2":"plain","b1":"true","b2":false,"l6":"solo"}`
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if v.Port1 != (Int{22, true}) || v.Port2 != (Int{3389, true}) || v.Port3.Set {
		t.Errorf("ints %+v %+v %+v", v.Port1, v.Port2, v.Port3)
	}
	if len(v.L1) != 2 || len(v.L2) != 1 || v.L2[0].A != "one" || len(v.L3) != 1 || v.L3[0].A != "i" || len(v.L4) != 0 || len(v.L5) != 0 {
		t.Errorf("lists %+v %+v %+v %+v %+v", v.L1, v.L2, v.L3, v.L4, v.L5)
	}
	if v.S1 != "bucket.s3.amazonaws.com" || v.S2 != "plain" || !bool(v.B1) || bool(v.B2) || len(v.L6) != 1 || v.L6[0] != "solo" {
		t.Errorf("strings/bools %+v", v)
	}
	var bad struct {
		P Int `json:"p"`
	}
	if err := json.Unmarshal([]byte(`{"p":"ssh"}`), &bad); err == nil {
		t.Error("a non-numeric port must not decode")
	}
}

func TestConfigItemHasConfiguration(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		item *ConfigItem
		want bool
	}{
		{nil, false},
		{&ConfigItem{}, false},
		{&ConfigItem{Configuration: json.RawMessage("null")}, false},
		{&ConfigItem{Configuration: json.RawMessage(`{"volumeId":"vol-1"}`)}, true},
	} {
		if got := c.item.HasConfiguration(); got != c.want {
			t.Errorf("%+v: HasConfiguration = %v, want %v", c.item, got, c.want)
		}
	}
}

// FuzzDecode: no payload may panic the decoder, and whatever decodes has a kind.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"cloudtrail", "raw", "signin", "config", "schedule", "service", "invalid"} {
		for _, file := range eventFiles(f, dir) {
			if raw, err := os.ReadFile(file); err == nil {
				f.Add(raw)
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tr, err := Decode(raw)
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("error without ErrInput: %v", err)
			}
			return
		}
		if tr.Kind == "" || (tr.Call == nil && tr.Config == nil && tr.Schedule == nil && tr.Event == nil && len(tr.Sweeps) == 0) {
			t.Fatalf("decoded to an empty trigger: %+v", tr)
		}
	})
}

// TestSignInWithoutEventType: records before eventVersion 1.02 have no
// eventType; a console sign-in is still a sign-in, whichever way it comes.
func TestSignInWithoutEventType(t *testing.T) {
	t.Parallel()
	record := func(source, name, eventType, extra string) string {
		et := ""
		if eventType != "" {
			et = `,"eventType":"` + eventType + `"`
		}
		return `{"eventVersion":"1.01","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"},
		"eventTime":"2026-03-14T09:02:11Z","eventSource":"` + source + `","eventName":"` + name + `","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.23",
		"requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"eventID":"e1"` + extra + et + `}`
	}
	envelope := func(detailType, detail string) string {
		return `{"version":"0","id":"x","detail-type":"` + detailType + `","source":"aws.signin","account":"123456789012","time":"2026-03-14T09:02:11Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
	}
	mfa := `,"additionalEventData":{"MFAUsed":"Yes"}`
	cases := []struct {
		name    string
		payload string
		kind    Kind
		mfa     bool
	}{
		{"bare ConsoleLogin, no eventType", record("signin.amazonaws.com", "ConsoleLogin", "", ""), KindSignIn, false},
		{"bare ConsoleLogin, no eventType, MFA", record("signin.amazonaws.com", "ConsoleLogin", "", mfa), KindSignIn, true},
		{"bare ConsoleLogin with eventType", record("signin.amazonaws.com", "ConsoleLogin", "AwsConsoleSignIn", mfa), KindSignIn, true},
		{"bare SwitchRole, no eventType", record("signin.amazonaws.com", "SwitchRole", "", ""), KindSignIn, false},
		{"API-call detail-type, ConsoleLogin, no eventType", envelope(DetailAPICall, record("signin.amazonaws.com", "ConsoleLogin", "", mfa)), KindSignIn, true},
		{"sign-in detail-type, no eventType", envelope(DetailSignInLegacy, record("signin.amazonaws.com", "ConsoleLogin", "", mfa)), KindSignIn, true},
		{"an API call stays an API call", record("ec2.amazonaws.com", "DescribeInstances", "", mfa), KindAPICall, false},
		{"a stated eventType wins", record("signin.amazonaws.com", "ConsoleLogin", "AwsApiCall", mfa), KindAPICall, false},
	}
	for _, tc := range cases {
		tr, err := Decode([]byte(tc.payload))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tr.Kind != tc.kind || tr.Call.Actor.MFA != tc.mfa {
			t.Errorf("%s: kind %s, MFA %v; want %s, %v", tc.name, tr.Kind, tr.Call.Actor.MFA, tc.kind, tc.mfa)
		}
		if tr.Call.Account != "123456789012" {
			t.Errorf("%s: account %q", tc.name, tr.Call.Account)
		}
	}
}
