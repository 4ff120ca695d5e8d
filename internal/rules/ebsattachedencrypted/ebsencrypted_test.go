package ebsattachedencrypted

import (
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

const (
	keyA = "1234abcd-12ab-34cd-56ef-1234567890ab"
	keyB = "0987dcba-09fe-87dc-65ba-ab0987654321"
	arnA = "arn:aws:kms:us-east-1:123456789012:key/" + keyA
)

func TestJudge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		v    volume
		want string
		verd rule.Verdict
	}{
		{"unattached", volume{}, "", rule.NotApplicable},
		{"unattached unencrypted with key", volume{}, keyA, rule.NotApplicable},
		{"attached unencrypted", volume{Attached: []string{"i-1"}}, "", rule.Violation},
		{"attached encrypted", volume{Attached: []string{"i-1"}, Encrypted: true, KmsKeyID: arnA}, "", rule.Compliant},
		{"attached right key by ID", volume{Attached: []string{"i-1"}, Encrypted: true, KmsKeyID: arnA}, keyA, rule.Compliant},
		{"attached right key by ARN", volume{Attached: []string{"i-1"}, Encrypted: true, KmsKeyID: arnA}, arnA, rule.Compliant},
		{"attached wrong key", volume{Attached: []string{"i-1"}, Encrypted: true, KmsKeyID: arnA}, keyB, rule.Violation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, reason := judge(tc.v, tc.want); got != tc.verd {
				t.Fatalf("judge = %s (%s), want %s", got, reason, tc.verd)
			}
		})
	}
}

func TestFromItem(t *testing.T) {
	t.Parallel()
	item := &trigger.ConfigItem{ResourceID: "vol-1", Configuration: []byte(`{"attachments":[{"instanceId":"i-1","state":"attached"},{"instanceId":"i-2","state":"detached"}],
		"encrypted":false,"kmsKeyId":null,"volumeId":"vol-1"}`)}
	v, err := fromItem(item)
	if err != nil || v.ID != "vol-1" || v.Encrypted || strings.Join(v.Attached, ",") != "i-1" {
		t.Fatalf("fromItem = %+v, %v", v, err)
	}
	if _, err := fromItem(&trigger.ConfigItem{Configuration: []byte(`{"attachments":7}`)}); err == nil {
		t.Fatal("malformed configuration accepted")
	}
}
