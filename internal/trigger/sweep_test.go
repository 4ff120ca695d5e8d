package trigger

import (
	"errors"
	"strings"
	"testing"
)

func sqsEventOf(body string) []byte {
	return []byte(`{"Records":[{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
	"body":` + body + `,"attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1545082649183","SenderId":"AIDAIENQZJOLO23YVJ4VO",
	"ApproximateFirstReceiveTimestamp":"1545082649185"},"messageAttributes":{},"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3",
	"eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:rampart-sweeps","awsRegion":"us-east-1"}]}`)
}

func TestDecodeSweep(t *testing.T) {
	t.Parallel()
	tr, err := Decode(sqsEventOf(`"{\"rampart\":\"sweep\",\"rule\":\"sg-open-world\",\"account\":\"222222222222\",\"region\":\"eu-west-1\",\"schedule\":\"ev-1\"}"`))
	if err != nil {
		t.Fatal(err)
	}
	want := SweepMessage{Rampart: SweepMarker, Rule: "sg-open-world", Account: "222222222222", Region: "eu-west-1", Schedule: "ev-1", ID: "059f36b4-87a3-44ab-83d2-661975830a7d"}
	if tr.Kind != KindSweep || len(tr.Sweeps) != 1 || tr.Sweeps[0] != want || tr.EventID() != want.ID {
		t.Fatalf("trigger %+v", tr)
	}
	for name, body := range map[string]string{
		"not JSON":        `"hello"`,
		"another app":     `"{\"job\":\"x\"}"`,
		"wrong marker":    `"{\"rampart\":\"other\",\"rule\":\"r\",\"account\":\"222222222222\",\"region\":\"eu-west-1\"}"`,
		"extra field":     `"{\"rampart\":\"sweep\",\"rule\":\"r\",\"account\":\"222222222222\",\"region\":\"eu-west-1\",\"roleArn\":\"x\"}"`,
		"short account":   `"{\"rampart\":\"sweep\",\"rule\":\"r\",\"account\":\"2222\",\"region\":\"eu-west-1\"}"`,
		"bad region":      `"{\"rampart\":\"sweep\",\"rule\":\"r\",\"account\":\"222222222222\",\"region\":\"../x\"}"`,
		"bad rule":        `"{\"rampart\":\"sweep\",\"rule\":\"R X\",\"account\":\"222222222222\",\"region\":\"eu-west-1\"}"`,
		"trailing data":   `"{\"rampart\":\"sweep\",\"rule\":\"r\",\"account\":\"222222222222\",\"region\":\"eu-west-1\"} {}"`,
		"body not string": `{"rampart":"sweep"}`,
	} {
		if _, err := Decode(sqsEventOf(body)); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// A CloudTrail log file still gets its own explanation.
	if _, err := Decode([]byte(`{"Records":[{"eventName":"X","eventSource":"ec2.amazonaws.com"}]}`)); err == nil || !strings.Contains(err.Error(), "log file") {
		t.Fatalf("log file: %v", err)
	}
}

func TestConfigRuleRegion(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-ab12cd": "eu-west-1",
		"arn:aws:iam::111122223333:role/x":                                     "",
		"":                                                                     "",
	} {
		if got := ConfigRuleRegion(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
