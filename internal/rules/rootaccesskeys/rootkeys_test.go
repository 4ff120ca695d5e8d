package rootaccesskeys

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/enginetest"
	"github.com/rampart-aws/rampart/internal/trigger"
)

func sample(t *testing.T) *trigger.APICall {
	t.Helper()
	return enginetest.Call(t, "events/cloudtrail/iam-create-access-key-root.json")
}

func TestTargetsOfTheRootSample(t *testing.T) {
	t.Parallel()
	call := sample(t)
	if !Rule.Meta().CloudTrail[0].Matches(call) {
		t.Fatal("the trigger does not match the sample")
	}
	ts, err := targets(call)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].ID != TargetID || ts[0].Type != ResourceType {
		t.Fatalf("targets = %+v", ts)
	}
	want := created{KeyID: "AKIAQ3EGWZ6YU4S7E2HC", When: "2026-03-15 08:01:36 UTC", SourceIP: "198.51.100.61", RootARN: "arn:aws:iam::123456789012:root"}
	if ts[0].Evidence != want {
		t.Fatalf("evidence = %+v", ts[0].Evidence)
	}
	// Offline, the event alone is the violation: an alert, nothing else.
	b, err := rule.BindWith(Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.Evaluate(context.Background(), rule.Env{Session: awsclient.NewOffline("us-east-1")}, ts[0])
	if err != nil {
		t.Fatal(err)
	}
	if f.Verdict != rule.Violation || len(f.Actions) != 1 || f.Actions[0].API != rule.AlertAPI || f.Resource != want.RootARN ||
		!strings.Contains(f.Reason, "created access key AKIAQ3EGWZ6YU4S7E2HC at 2026-03-15 08:01:36 UTC from 198.51.100.61") {
		t.Fatalf("finding = %+v", f)
	}
}

func TestTargetsIgnoresOtherKeys(t *testing.T) {
	t.Parallel()
	user := sample(t)
	user.Actor = trigger.Actor{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/bob", UserName: "bob"}
	forUser := sample(t)
	forUser.Request = []byte(`{"userName":"bob"}`)
	other := sample(t)
	other.EventName = "UpdateAccessKey"
	for name, call := range map[string]*trigger.APICall{"an IAM user's own key": user, "root creating bob's key": forUser, "another event": other} {
		if ts, err := targets(call); ts != nil || err != nil {
			t.Errorf("%s: %+v, %v", name, ts, err)
		}
	}
}

func TestTargetsRejectsMalformed(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*trigger.APICall){
		"request not an object":   func(c *trigger.APICall) { c.Request = []byte(`"bob"`) },
		"response not an object":  func(c *trigger.APICall) { c.Response = []byte(`[1]`) },
		"accessKey not an object": func(c *trigger.APICall) { c.Response = []byte(`{"accessKey":"AKIA"}`) },
	} {
		call := sample(t)
		mutate(call)
		if _, err := targets(call); !errors.Is(err, trigger.ErrInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// A record without the key ID still names the root user.
	call := sample(t)
	call.Response = []byte(`null`)
	ts, err := targets(call)
	if err != nil || len(ts) != 1 || ts[0].Evidence.(created).KeyID != "(ID not recorded)" {
		t.Fatalf("targets = %+v, %v", ts, err)
	}
}

// The judgement of the live state. moto's account summary always says 0
// root keys, so the "present" half is tested here, on the pure function.
func TestJudge(t *testing.T) {
	ev := &created{KeyID: "AKIA1", When: "2026-03-15 08:01:36 UTC", SourceIP: "198.51.100.61", RootARN: "arn:aws:iam::123456789012:root"}
	cases := []struct {
		name     string
		present  bool
		ev       *created
		verdict  rule.Verdict
		inReason string
	}{
		{"sweep, keys present", true, nil, rule.Violation, "the root user has an access key; only the root user can delete it"},
		{"sweep, none", false, nil, rule.Compliant, "the root user has no access keys"},
		{"event, key still there", true, ev, rule.Violation, "the root user created access key AKIA1 at 2026-03-15 08:01:36 UTC from 198.51.100.61; the root user has an access key"},
		{"event, key deleted since", false, ev, rule.Compliant, "has been deleted since — review what it was used for"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tg := rule.Target{ID: TargetID}
			if c.ev != nil {
				tg.Evidence = *c.ev
			}
			f := judgeTarget(keys{Present: c.present}, tg, struct{}{}, rule.Facts{})
			if f.Verdict != c.verdict || !strings.Contains(f.Reason, c.inReason) {
				t.Fatalf("finding = %s %q", f.Verdict, f.Reason)
			}
			alert := len(f.Actions) == 1 && f.Actions[0].API == rule.AlertAPI && f.Actions[0].Undo == nil && f.Actions[0].Target == TargetID
			if alert != (c.verdict == rule.Violation) {
				t.Fatalf("actions = %+v", f.Actions)
			}
		})
	}
}

// The rule only alerts (the engine delivers alerts): it has nothing to apply.
func TestNothingToApply(t *testing.T) {
	t.Parallel()
	b, err := rule.BindWith(Rule, nil)
	if err != nil || b.Apply != nil {
		t.Fatalf("bound = %+v, %v: the rule applies something", b, err)
	}
}

// Offline, only a create event decides.
func TestOfflineWithoutAnEvent(t *testing.T) {
	t.Parallel()
	b, err := rule.BindWith(Rule, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.Evaluate(context.Background(), rule.Env{Session: awsclient.NewOffline("us-east-1")}, rule.Target{Type: ResourceType, ID: TargetID})
	if err != nil || f.Verdict != rule.NotApplicable || f.Reason != "offline: only a CreateAccessKey event can be judged without AWS" {
		t.Fatalf("finding = %+v, %v", f, err)
	}
}
