package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/notifystate"
)

// Every regional stack has its notification state table: on demand, TTL,
// point-in-time recovery, encrypted, with the sparse open index.
func TestNotificationStateTable(t *testing.T) {
	a := catalogApp(t)
	for _, region := range regions {
		tpl := a.tpl[region]
		tpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
		tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"TableName":                        StateTableName,
			"BillingMode":                      "PAY_PER_REQUEST",
			"KeySchema":                        []any{map[string]any{"AttributeName": notifystate.AttrKey, "KeyType": "HASH"}},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": notifystate.AttrTTL, "Enabled": true},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"GlobalSecondaryIndexes": []any{map[string]any{
				"IndexName": notifystate.OpenIndex,
				"KeySchema": []any{map[string]any{"AttributeName": notifystate.AttrOpen, "KeyType": "HASH"},
					map[string]any{"AttributeName": notifystate.AttrKey, "KeyType": "RANGE"}},
				"Projection": map[string]any{"ProjectionType": "ALL"},
			}},
		})
	}
}

// Every function records its decisions in its region's table (and only
// there); the home region's first function sends the daily digest,
// reading the open index of every region's table.
func TestEveryFunctionUsesTheStateTableAndOneSendsTheDigest(t *testing.T) {
	a := catalogApp(t)
	for _, region := range regions {
		js := a.json[region]
		digests := 0
		for id, f := range resources(js, "AWS::Lambda::Function") {
			vars, _ := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
			if vars[engine.EnvStateTable] != StateTableName {
				t.Errorf("%s: function %s has %s=%v", region, id, engine.EnvStateTable, vars[engine.EnvStateTable])
			}
			if v, ok := vars[engine.EnvDigestRegions]; ok {
				digests++
				if v != strings.Join(regions, ",") {
					t.Errorf("%s: digest regions %v", region, v)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[region == home]; digests != want {
			t.Errorf("%s: %d digest functions, want %d", region, digests, want)
		}
		rules := assertions.Template_FromJSON(&js, nil).FindResources(jsii.String("AWS::Events::Rule"), map[string]any{
			"Properties": map[string]any{"Name": engine.DigestSchedule, "ScheduleExpression": DigestScheduleExpression}})
		if n := len(*rules); n != digests {
			t.Errorf("%s: %d digest schedules, want %d", region, n, digests)
		}
		// The function roles (one per function, in the home stack) grant
		// the table of every region by name, and only the digest's role
		// the open index.
		scans := 0
		for _, p := range resources(js, "AWS::IAM::Policy") {
			doc, _ := props(p)["PolicyDocument"].(map[string]any)
			for _, s := range doc["Statement"].([]any) {
				st := s.(map[string]any)
				acts := toStrings(st["Action"])
				if !slices.ContainsFunc(acts, func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
					continue
				}
				res := jsonString(st["Resource"])
				if slices.Equal(acts, []string{"dynamodb:Scan"}) {
					scans++
					if !strings.HasSuffix(strings.Trim(res, `"`), ":table/"+StateTableName+"/index/"+notifystate.OpenIndex) {
						t.Errorf("%s: Scan on %v", region, res)
					}
					continue
				}
				if !slices.Equal(acts, []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}) ||
					!strings.HasSuffix(strings.Trim(res, `"`), ":table/"+StateTableName) {
					t.Errorf("%s: %v on %v, want the state table", region, acts, res)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[region == home]; scans != want {
			t.Errorf("%s: %d Scan grants, want %d", region, scans, want)
		}
	}
}

func toStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

func jsonString(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}
