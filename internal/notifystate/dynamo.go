package notifystate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rampart-aws/rampart/internal/report"
)

// Table layout. The partition key is Key.ID; there is no sort key.
// OpenIndex is a sparse global secondary index: only items whose state is
// open carry its key (openAccount), so the digest reads the open findings
// and nothing else.
const (
	AttrKey       = "pk"
	AttrTTL       = "expiresAt" // epoch seconds: the table's TTL attribute
	AttrOpen      = "openAccount"
	OpenIndex     = "open"
	attrState     = "state"
	attrPrev      = "prev"
	attrSince     = "since"
	attrLastSeen  = "lastSeen"
	attrClaimed   = "claimedAt"
	attrEvent     = "eventId"
	attrNotified  = "notified"
	attrFailures  = "failures"
	attrFailEvent = "failEvent"
	attrAccount   = "account"
	attrRegion    = "region"
	attrRule      = "rule"
	attrResource  = "resource"
	attrSeverity  = "severity"
	attrReason    = "reason"
)

// DynamoAPI is the part of the DynamoDB client the store uses.
type DynamoAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	dynamodb.ScanAPIClient
}

// Dynamo is the Store in a DynamoDB table (see CreateTableInput). Steady
// state — a repeat of a state already notified — costs one UpdateItem; a
// transition (or a first sight) costs that, a conditional PutItem and, when
// it is notified, an UpdateItem marking it so after the publish.
type Dynamo struct {
	Client DynamoAPI
	Table  string
}

// CreateTableInput is the table's schema: what infra/state.go deploys (plus
// TTL on AttrTTL, point-in-time recovery and encryption, which are not part
// of CreateTable), and what tests create in moto.
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrOpen), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(AttrKey), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(OpenIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrOpen), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	}
}

// maxAttempts bounds the optimistic retries of one observation racing
// other writers of the same key.
const maxAttempts = 4

// Observe implements Store.
func (d *Dynamo) Observe(ctx context.Context, o Observation) (Change, error) {
	old, settled, err := d.touch(ctx, o)
	if err != nil {
		return Change{}, err
	}
	if settled {
		return Change{Prev: o.State}, nil
	}
	for attempt := 1; ; attempt++ {
		s, ch := next(old, o)
		if s == resend || s == wait {
			return ch, nil
		}
		it := apply(old, o, s, ch)
		err := d.put(ctx, old, &it)
		if err == nil {
			return ch, nil
		}
		if !isConditionFailed(err) || attempt == maxAttempts {
			return Change{}, fmt.Errorf("state of %s: %w", o.Key.ID(), err)
		}
		// Another invocation wrote the key since we read it: read again.
		if old, err = d.get(ctx, o.Key); err != nil {
			return Change{}, err
		}
	}
}

// touch is the steady state in one call: when the item is already in the
// observed state and notified, refresh it (last seen, TTL, failures reset).
// Otherwise it returns the item as it is (nil when there is none).
func (d *Dynamo) touch(ctx context.Context, o Observation) (*item, bool, error) {
	cond := "#st = :st AND #nt = :true"
	vals := map[string]types.AttributeValue{
		":st": str(string(o.State)), ":true": &types.AttributeValueMemberBOOL{Value: true},
		":now": str(stamp(o.Now)), ":exp": num(o.Now.Add(TTL).Unix()), ":zero": num(0),
		":sev": str(o.Severity), ":reason": str(report.Truncate(o.Reason, maxReason)),
	}
	names := map[string]string{"#st": attrState, "#nt": attrNotified, "#ls": attrLastSeen, "#ttl": AttrTTL,
		"#fl": attrFailures, "#sev": attrSeverity, "#rs": attrReason, "#fe": attrFailEvent}
	if o.PerEvent {
		cond += " AND #ev = :ev"
		vals[":ev"], names["#ev"] = str(o.EventID), attrEvent
	}
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(d.Table),
		Key:                                 key(o.Key),
		ConditionExpression:                 aws.String(cond),
		UpdateExpression:                    aws.String("SET #ls = :now, #ttl = :exp, #fl = :zero, #sev = :sev, #rs = :reason REMOVE #fe"),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           vals,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil, true, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, false, fmt.Errorf("state of %s: update: %w", o.Key.ID(), err)
	}
	if ccf.Item == nil {
		// No item came back: there is none. (Were there one after all — an
		// emulator not returning it — put's condition fails and Observe
		// reads it.)
		return nil, false, nil
	}
	it, err := decode(ccf.Item)
	return it, false, err
}

// put writes the whole item, on condition that the stored one is still old.
func (d *Dynamo) put(ctx context.Context, old, it *item) error {
	in := &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: encode(it)}
	if old == nil || old.State == None {
		in.ConditionExpression = aws.String("attribute_not_exists(#st)")
		in.ExpressionAttributeNames = map[string]string{"#st": attrState}
	} else {
		in.ConditionExpression = aws.String("#st = :st AND #ev = :ev AND #nt = :nt")
		in.ExpressionAttributeNames = map[string]string{"#st": attrState, "#ev": attrEvent, "#nt": attrNotified}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":st": str(string(old.State)), ":ev": str(old.EventID), ":nt": &types.AttributeValueMemberBOOL{Value: old.Notified}}
	}
	_, err := d.Client.PutItem(ctx, in)
	return err
}

func (d *Dynamo) get(ctx context.Context, k Key) (*item, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: key(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("state of %s: get: %w", k.ID(), err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return decode(out.Item)
}

// MarkNotified implements Store. When the key has moved on to another event
// since, there is nothing to mark.
func (d *Dynamo) MarkNotified(ctx context.Context, k Key, eventID string) error {
	_, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.Table),
		Key:                       key(k),
		ConditionExpression:       aws.String("#ev = :ev"),
		UpdateExpression:          aws.String("SET #nt = :true"),
		ExpressionAttributeNames:  map[string]string{"#ev": attrEvent, "#nt": attrNotified},
		ExpressionAttributeValues: map[string]types.AttributeValue{":ev": str(eventID), ":true": &types.AttributeValueMemberBOOL{Value: true}},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("state of %s: mark notified: %w", k.ID(), err)
	}
	return nil
}

// Fail implements Store: one UpdateItem adding one failure unless this
// event was the last one counted.
func (d *Dynamo) Fail(ctx context.Context, k Key, eventID string, now time.Time) (int, bool, error) {
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(d.Table),
		Key:                 key(k),
		ConditionExpression: aws.String("attribute_not_exists(#fe) OR #fe <> :ev"),
		UpdateExpression:    aws.String("SET #fe = :ev, #ls = :now, #ttl = :exp, #ac = :ac, #rg = :rg, #ru = :ru, #re = :re ADD #fl :one"),
		ExpressionAttributeNames: map[string]string{"#fe": attrFailEvent, "#ls": attrLastSeen, "#ttl": AttrTTL, "#fl": attrFailures,
			"#ac": attrAccount, "#rg": attrRegion, "#ru": attrRule, "#re": attrResource},
		ExpressionAttributeValues: map[string]types.AttributeValue{":ev": str(eventID), ":now": str(stamp(now)),
			":exp": num(now.Add(TTL).Unix()), ":one": num(1), ":ac": str(k.Account), ":rg": str(k.Region), ":ru": str(k.Rule), ":re": str(k.Resource)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		n, err := intAttr(out.Attributes, attrFailures)
		return n, true, err
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return 0, false, fmt.Errorf("state of %s: count failure: %w", k.ID(), err)
	}
	attrs := ccf.Item
	if attrs == nil {
		it, err := d.get(ctx, k)
		if err != nil || it == nil {
			return 0, false, err
		}
		return it.Failures, false, nil
	}
	n, err := intAttr(attrs, attrFailures)
	return n, false, err
}

// Open implements Store: a scan of the sparse open index, which holds the
// open findings only, so it reads no more than it returns.
func (d *Dynamo) Open(ctx context.Context, limit int) ([]Record, bool, error) {
	var out []Record
	p := dynamodb.NewScanPaginator(d.Client, &dynamodb.ScanInput{TableName: aws.String(d.Table), IndexName: aws.String(OpenIndex),
		Limit: aws.Int32(int32(min(limit+1, 1000)))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("scan open findings of %s: %w", d.Table, err)
		}
		for _, raw := range page.Items {
			it, err := decode(raw)
			if err != nil {
				return nil, false, err
			}
			if !it.State.Open() {
				continue // cannot happen: only open items carry the index key
			}
			if len(out) == limit {
				return out, true, nil
			}
			out = append(out, it.Record)
		}
	}
	return out, false, nil
}

// Claim implements Store: one conditional PutItem. An expired claim
// (TTL deletion lags by up to days) counts as none.
func (d *Dynamo) Claim(ctx context.Context, c Cause, eventID string, now time.Time) (bool, error) {
	k := c.key()
	_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.Table),
		Item: map[string]types.AttributeValue{AttrKey: str(k.ID()), attrEvent: str(eventID), attrLastSeen: str(stamp(now)),
			attrAccount: str(c.Account), attrRegion: str(c.Region), attrResource: str(c.Resource), AttrTTL: num(now.Add(CauseTTL).Unix())},
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #ev = :ev OR #ttl < :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrKey, "#ev": attrEvent, "#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":ev": str(eventID), ":now": num(now.Unix())},
	})
	switch {
	case err == nil:
		return true, nil
	case isConditionFailed(err):
		return false, nil
	}
	return false, fmt.Errorf("claim %s: %w", k.ID(), err)
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func key(k Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrKey: str(k.ID())}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func encode(it *item) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{
		AttrKey: str(it.Key.ID()), attrAccount: str(it.Key.Account), attrRegion: str(it.Key.Region),
		attrRule: str(it.Key.Rule), attrResource: str(it.Key.Resource),
		attrState: str(string(it.State)), attrPrev: str(string(it.Prev)), attrEvent: str(it.EventID),
		attrNotified: &types.AttributeValueMemberBOOL{Value: it.Notified},
		attrSince:    str(stamp(it.Since)), attrLastSeen: str(stamp(it.LastSeen)), attrClaimed: str(stamp(it.ClaimedAt)),
		attrFailures: num(int64(it.Failures)), attrSeverity: str(it.Severity), attrReason: str(it.Reason),
		AttrTTL: num(it.LastSeen.Add(TTL).Unix()),
	}
	if it.State.Open() {
		m[AttrOpen] = str(it.Key.Account)
	}
	return m
}

func decode(m map[string]types.AttributeValue) (*item, error) {
	s := func(name string) string {
		if v, ok := m[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	t := func(name string) time.Time {
		v, _ := time.Parse(time.RFC3339, s(name))
		return v
	}
	it := &item{Record: Record{
		Key:   Key{Account: s(attrAccount), Region: s(attrRegion), Rule: s(attrRule), Resource: s(attrResource)},
		State: State(s(attrState)), Since: t(attrSince), LastSeen: t(attrLastSeen), EventID: s(attrEvent),
		Severity: s(attrSeverity), Reason: s(attrReason),
	}, Prev: State(s(attrPrev)), ClaimedAt: t(attrClaimed), FailEvent: s(attrFailEvent)}
	if v, ok := m[attrNotified].(*types.AttributeValueMemberBOOL); ok {
		it.Notified = v.Value
	}
	n, err := intAttr(m, attrFailures)
	if err != nil {
		return nil, err
	}
	it.Failures = n
	return it, nil
}

func intAttr(m map[string]types.AttributeValue, name string) (int, error) {
	v, ok := m[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v.Value)
	if err != nil {
		return 0, fmt.Errorf("attribute %s = %q: %w", name, v.Value, err)
	}
	return n, nil
}
