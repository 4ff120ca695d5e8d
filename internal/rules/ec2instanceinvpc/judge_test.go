package ec2instanceinvpc

import (
	"errors"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		i       instance
		verdict rule.Verdict
		reason  string
	}{
		{"in a VPC", instance{State: "running", VpcID: "vpc-1"}, rule.Compliant, "the instance runs in vpc-1"},
		{"stopped in a VPC", instance{State: "stopped", VpcID: "vpc-1"}, rule.Compliant, "vpc-1"},
		{"not in a VPC", instance{State: "running"}, rule.Violation, "cannot be moved"},
		{"pending, not in a VPC", instance{State: "pending"}, rule.Violation, "relaunch it in a VPC"},
		{"terminated", instance{State: "terminated"}, rule.NotApplicable, "the instance is terminated"},
		{"shutting down", instance{State: "shutting-down", VpcID: "vpc-1"}, rule.NotApplicable, "the instance is shutting-down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.i.Tags = map[string]string{"team": "a"}
			f := judgeFinding(tc.i, rule.Target{ID: "i-1"}, struct{}{}, rule.Facts{Region: "us-east-1"})
			if f.Verdict != tc.verdict || !strings.Contains(f.Reason, tc.reason) {
				t.Fatalf("finding = %+v, want %s with %q", f, tc.verdict, tc.reason)
			}
			// The rule only reports: no plan, ever; the tags go to the exemption check.
			if len(f.Actions) != 0 || f.Tags["team"] != "a" {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
}

func TestFromItem(t *testing.T) {
	t.Parallel()
	i, err := fromItem(&trigger.ConfigItem{ResourceID: "i-1", Tags: map[string]string{"k": "v"},
		Configuration: []byte(`{"instanceId":"i-1","vpcId":"vpc-9","state":{"code":16,"name":"running"}}`)})
	if err != nil || i.VpcID != "vpc-9" || i.State != "running" || i.Tags["k"] != "v" {
		t.Fatalf("fromItem = %+v, %v", i, err)
	}
	if _, err := fromItem(&trigger.ConfigItem{Configuration: []byte(`{"state":7}`)}); !errors.Is(err, trigger.ErrInput) {
		t.Fatalf("malformed configuration: %v", err)
	}
}

// fakeEC2 answers DescribeInstances from a fixed output or error.
