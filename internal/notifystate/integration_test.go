package notifystate

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/testing/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Main(m)) }

// newTable creates the state table in a fresh moto, as infra deploys it
// (schema, sparse open index, TTL on expiresAt).
func newTable(t *testing.T) (*Dynamo, *dynamodb.Client) {
	t.Helper()
	s := mototest.Session(t)
	client := awsclient.Client(s, dynamodb.NewFromConfig)
	ctx := context.Background()
	if _, err := client.CreateTable(ctx, CreateTableInput("rampart-state")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("rampart-state"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(AttrTTL), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	return &Dynamo{Client: client, Table: "rampart-state"}, client
}

func TestDynamoStore(t *testing.T) {
	d, client := newTable(t)
	storeContract(t, d)

	// The item as stored: its TTL is 30 days after it was last seen, and an
	// item that is no longer open has left the sparse index.
	k := Key{Account: "123456789012", Region: "us-east-1", Rule: "sg-open-world", Resource: "sg-1"}
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: key(k)})
	if err != nil {
		t.Fatal(err)
	}
	it, err := decode(out.Item)
	if err != nil {
		t.Fatal(err)
	}
	ttl, _ := strconv.ParseInt(out.Item[AttrTTL].(*types.AttributeValueMemberN).Value, 10, 64)
	if want := it.LastSeen.Add(TTL).Unix(); ttl != want || it.LastSeen.IsZero() {
		t.Fatalf("TTL %d, want %d (last seen %s)", ttl, want, it.LastSeen)
	}
	if _, ok := out.Item[AttrOpen]; !ok || it.State != Violation {
		t.Fatalf("an open item lacks the index key: %+v", out.Item)
	}
	if _, err := d.Observe(context.Background(), Observation{Key: k, State: Compliant, EventID: "x", Now: t0.Add(100 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	out, _ = client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: key(k)})
	if _, ok := out.Item[AttrOpen]; ok {
		t.Fatalf("a closed item keeps the index key: %+v", out.Item)
	}

	ttlDesc, err := client.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(d.Table)})
	if err != nil || aws.ToString(ttlDesc.TimeToLiveDescription.AttributeName) != AttrTTL {
		t.Fatalf("TTL: %+v %v", ttlDesc, err)
	}
}

// Concurrent invocations seeing one new violation (three overlapping rules'
// functions, Lambda's parallel retries): exactly one is told to notify.
func TestDynamoConcurrentObserversAgree(t *testing.T) {
	d, _ := newTable(t)
	k := Key{Account: "123456789012", Region: "us-east-1", Rule: "restricted-ssh", Resource: "sg-2"}
	var mu sync.Mutex
	notified := 0
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := d.Observe(context.Background(), Observation{Key: k, State: Violation, EventID: fmt.Sprint("ev-", i), Now: t0})
			if err != nil {
				t.Error(err)
				return
			}
			if ch.Notify {
				mu.Lock()
				notified++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if notified != 1 {
		t.Fatalf("%d observers were told to notify, want 1", notified)
	}
}

func TestDynamoOpenScansTheSparseIndex(t *testing.T) {
	d, _ := newTable(t)
	ctx := context.Background()
	for i := range 30 {
		s := Compliant
		if i%10 == 0 {
			s = Violation
		}
		k := Key{Account: "123456789012", Region: "us-east-1", Rule: "r", Resource: fmt.Sprint("res-", i)}
		if _, err := d.Observe(ctx, Observation{Key: k, State: s, EventID: "e", Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	recs, more, err := d.Open(ctx, 10)
	if err != nil || more || len(recs) != 3 {
		t.Fatalf("%+v %v %v", recs, more, err)
	}
	if recs, more, _ := d.Open(ctx, 2); len(recs) != 2 || !more {
		t.Fatalf("bounded: %d %v", len(recs), more)
	}
}

// What each kind of observation costs, as moto's request recorder sees it.
func TestDynamoCallsPerObservation(t *testing.T) {
	d, _ := newTable(t)
	ctx := context.Background()
	k := Key{Account: "123456789012", Region: "us-east-1", Rule: "r", Resource: "x"}
	calls := func(f func()) []string {
		t.Helper()
		srv := mototest.Record(t)
		f()
		return srv.Recorded(t)
	}
	observe := func(s State, ev string) {
		if _, err := d.Observe(ctx, Observation{Key: k, State: s, EventID: ev, Now: t0}); err != nil {
			t.Fatal(err)
		}
	}
	first := calls(func() { observe(Violation, "e1") })
	_ = d.MarkNotified(ctx, k, "e1")
	repeat := calls(func() { observe(Violation, "e2") })
	change := calls(func() { observe(Compliant, "e3") })
	t.Logf("first sight %v; repeat %v; transition %v", first, repeat, change)
	if len(repeat) != 1 || repeat[0] != "DynamoDB_20120810.UpdateItem" {
		t.Fatalf("a repeat costs %v, want one UpdateItem", repeat)
	}
	// A transition: the UpdateItem that fails its condition returns the old
	// item (ReturnValuesOnConditionCheckFailure), then a conditional PutItem.
	if len(change) != 2 || change[1] != "DynamoDB_20120810.PutItem" {
		t.Fatalf("a transition costs %v", change)
	}
	if len(first) != 2 || first[1] != "DynamoDB_20120810.PutItem" {
		t.Fatalf("a first sight costs %v", first)
	}
}
