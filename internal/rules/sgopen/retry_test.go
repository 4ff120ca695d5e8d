package sgopen_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/rampart-aws/rampart/internal/awsclient/sdkconfig"
	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

// TestRetryAfterALostResponseIsApplied: moto carries out the revoke but its
// answer is lost (the proxy cuts the connection); the SDK retries and moto
// answers InvalidPermission.NotFound. The first attempt did the work, so
// the decision says applied — with the undo — and `rampart undo` (Engine.Undo)
// puts the permissions back.
func TestRetryAfterALostResponseIsApplied(t *testing.T) {
	direct := mototest.Session(t)
	id := seed(t, direct)
	before := ingress(t, direct, id)
	proxy := mototest.DropFirst(t, mototest.Action("RevokeSecurityGroupIngress"))
	lossy, err := sdkconfig.Load(context.Background(), config.WithBaseEndpoint(proxy.URL))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, lossy, engine.Enforce)
	res, err := e.Handle(context.Background(), authorizeEvent(id, sshWorldItem))
	if err != nil {
		t.Fatal(err)
	}
	if proxy.Dropped() != 1 || proxy.Retried() == 0 {
		t.Fatalf("the proxy dropped %d responses and saw %d retries: the test did not exercise a retry", proxy.Dropped(), proxy.Retried())
	}
	d := res.Decisions[0]
	if len(d.Actions) == 0 {
		t.Fatalf("decision %+v", d)
	}
	a := d.Actions[0]
	if a.Outcome != rule.Applied || a.Undo == nil || !strings.Contains(a.Retried, "RevokeSecurityGroupIngress was retried") {
		t.Fatalf("action %+v: want applied with its undo and a note on the retry", a)
	}
	after := ingress(t, direct, id)
	if slices.Contains(after, "tcp 22-22 0.0.0.0/0") || slices.Equal(after, before) {
		t.Fatalf("after = %v", after)
	}
	undone, err := newEngine(t, direct, engine.Enforce).Undo(context.Background(), res.Decisions)
	if err != nil || len(undone) == 0 || undone[0].Outcome != rule.Applied {
		t.Fatalf("undo: %v %+v", err, undone)
	}
	if got := ingress(t, direct, id); !slices.Equal(got, before) {
		t.Fatalf("after undo = %v\nwant %v", got, before)
	}
}
