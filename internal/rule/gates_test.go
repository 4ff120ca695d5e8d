package rule

import (
	"slices"
	"strings"
	"testing"
)

func TestGrantedWriteActions(t *testing.T) {
	t.Parallel()
	m := Meta{
		ID:           "gated",
		Params:       []Param{{Name: "role"}, {Name: "bucket"}, {Name: "group"}, {Name: "type", Default: "logs"}, {Name: "services"}},
		WriteActions: []string{"svc:Start", "svc:Recreate", "svc:Create", "svc:Deliver", "svc:Enable"},
		ParamWrites: []ParamWrite{
			{Actions: []string{"svc:Recreate"}, When: []string{"role"}},
			// Either destination enables Create; only the S3 one Deliver.
			{Actions: []string{"svc:Create"}, When: []string{"group", "role"}},
			{Actions: []string{"svc:Create", "svc:Deliver"}, When: []string{"type=s3", "bucket"}},
			{Actions: []string{"svc:Enable"}, When: []string{"services~=svc"}},
		},
	}
	for _, tc := range []struct {
		name   string
		params Params
		want   []string
	}{
		{"nothing set: only the ungated action", Params{"type": "logs"}, []string{"svc:Start"}},
		{"role alone", Params{"role": "r", "type": "logs"}, []string{"svc:Start", "svc:Recreate"}},
		{"all of an entry", Params{"role": "r", "group": "g", "type": "logs"}, []string{"svc:Start", "svc:Recreate", "svc:Create"}},
		{"part of an entry is not enough", Params{"group": "g", "type": "logs"}, []string{"svc:Start"}},
		{"value condition holds", Params{"type": "s3", "bucket": "b"}, []string{"svc:Start", "svc:Create", "svc:Deliver"}},
		{"value condition fails", Params{"type": "logs", "bucket": "b"}, []string{"svc:Start"}},
		{"blank is unset", Params{"role": "", "type": "logs"}, []string{"svc:Start"}},
		{"list includes the value", Params{"type": "logs", "services": "other, SVC"}, []string{"svc:Start", "svc:Enable"}},
		{"list lacks the value", Params{"type": "logs", "services": "other,svc2"}, []string{"svc:Start"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.GrantedWriteActions(tc.params); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if err := m.CheckParamWrites(); err != nil {
		t.Errorf("valid gates rejected: %v", err)
	}
}

func TestCheckParamWrites(t *testing.T) {
	t.Parallel()
	base := Meta{ID: "r", Params: []Param{{Name: "role"}}, WriteActions: []string{"svc:Put"}}
	for _, tc := range []struct {
		name string
		w    ParamWrite
		want string
	}{
		{"action not declared", ParamWrite{Actions: []string{"svc:Other"}, When: []string{"role"}}, "not one of WriteActions"},
		{"unknown parameter", ParamWrite{Actions: []string{"svc:Put"}, When: []string{"rol"}}, "names no parameter"},
		{"unknown parameter in a value condition", ParamWrite{Actions: []string{"svc:Put"}, When: []string{"kind=x"}}, "names no parameter"},
		{"unknown parameter in a list condition", ParamWrite{Actions: []string{"svc:Put"}, When: []string{"kinds~=x"}}, "names no parameter"},
		{"no condition", ParamWrite{Actions: []string{"svc:Put"}}, "needs actions and conditions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			m.ParamWrites = []ParamWrite{tc.w}
			err := m.CheckParamWrites()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
