package stalecredentials

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/rampart-aws/rampart/internal/accesskey"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
)

var clock = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func report(t *testing.T) []Row {
	t.Helper()
	raw, err := os.ReadFile("testdata/credential-report.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseReport(raw)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestParseReport(t *testing.T) {
	t.Parallel()
	rows := report(t)
	if len(rows) != 6 {
		t.Fatalf("rows = %d", len(rows))
	}
	root := rows[0]
	if root.User != RootUser || root.Password.Enabled || !root.Keys[0].Active || root.Keys[0].LastUsed != date("2025-09-01T12:00:00+00:00") || root.Password.LastChanged != (time.Time{}) {
		t.Fatalf("root = %+v", root)
	}
	bob := rows[2]
	want := Row{User: "bob", ARN: "arn:aws:iam::123456789012:user/bob", Created: date("2021-02-01T08:00:00+00:00"),
		Keys: [2]KeySlot{{Active: true, LastRotated: date("2022-07-19T15:20:00+00:00"), LastUsed: date("2025-10-01T06:30:00+00:00")},
			{Active: true, LastRotated: date("2026-03-01T11:00:00+00:00")}}}
	if bob != want {
		t.Fatalf("bob = %+v\nwant  %+v", bob, want)
	}
	carol := rows[3]
	if !carol.Password.Enabled || !carol.Password.LastUsed.IsZero() || carol.Password.LastChanged != date("2025-06-01T09:00:00+00:00") {
		t.Fatalf("carol (no_information) = %+v", carol)
	}
}

// Columns are found by name, not position.
func TestParseReportColumnOrder(t *testing.T) {
	t.Parallel()
	in := "arn,user,access_key_2_last_used_date,access_key_2_last_rotated,access_key_2_active,access_key_1_last_used_date,access_key_1_last_rotated,access_key_1_active,password_last_changed,password_last_used,password_enabled,user_creation_time\n" +
		"arn:aws:iam::1:user/x,x,N/A,N/A,false,N/A,2025-01-01T00:00:00+00:00,true,N/A,N/A,false,2024-01-01T00:00:00+00:00\n"
	rows, err := ParseReport([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].User != "x" || !rows[0].Keys[0].Active || rows[0].Keys[0].LastRotated != date("2025-01-01T00:00:00+00:00") {
		t.Fatalf("row = %+v", rows[0])
	}
}

func TestParseReportRejects(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/credential-report.csv")
	if err != nil {
		t.Fatal(err)
	}
	good := string(raw)
	cases := map[string]string{
		"empty":          "",
		"missing column": strings.Replace(good, "access_key_2_last_used_date", "access_key_2_last_used", 1),
		"bad date":       strings.Replace(good, "2025-10-01T06:30:00+00:00", "yesterday", 1),
		"bad flag":       strings.Replace(good, "bob,arn:aws:iam::123456789012:user/bob,2021-02-01T08:00:00+00:00,false", "bob,arn:aws:iam::123456789012:user/bob,2021-02-01T08:00:00+00:00,maybe", 1),
		"ragged line":    good + "zed,arn:aws:iam::123456789012:user/zed\n",
		"empty user":     good + strings.Replace(strings.Split(good, "\n")[5], "dave", "", 1) + "\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseReport([]byte(in)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// Offline, each row is judged from the report alone: the plan names the
// key by its slot, and no AWS call is possible (the session refuses).
func TestEvaluateRowsOffline(t *testing.T) {
	t.Parallel()
	c := Rule.WithClock(func() time.Time { return clock })
	b, err := rule.BindWith(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	offline := rule.Env{Session: awsclient.NewOffline("us-east-1")}
	want := map[string]struct {
		verdict  rule.Verdict
		targets  []string
		inReason string
	}{
		"alice": {rule.Compliant, nil, "no password or active access key unused for more than 90 days"},
		"bob":   {rule.Violation, []string{"bob/access key 1"}, "access key 1 last used 2025-10-01 (165 days ago)"},
		"carol": {rule.Violation, nil, "console password never used, created 2025-06-01 (287 days ago)"},
		"dave":  {rule.Compliant, nil, "no password"},
		"erin":  {rule.Violation, []string{"erin/access key 2"}, "access key 2 never used, created 2025-11-20 (115 days ago)"},
	}
	for _, row := range report(t)[1:] {
		f, err := b.Evaluate(context.Background(), offline, rule.Target{ID: row.User, Evidence: row})
		if err != nil {
			t.Fatal(err)
		}
		w := want[row.User]
		var targets []string
		for _, a := range f.Actions {
			targets = append(targets, a.Target)
			var kp accesskey.Params
			if err := a.Decode(&kp); err != nil || kp.Status != "Inactive" || a.Undo == nil || !strings.Contains(string(a.Undo.Params), `"status":"Active"`) {
				t.Fatalf("%s: action %+v", row.User, a)
			}
		}
		if f.Verdict != w.verdict || !slices.Equal(targets, w.targets) || !strings.Contains(f.Reason, w.inReason) || f.Resource != row.ARN {
			t.Errorf("%s: %s %v %q (resource %s), want %s %v containing %q", row.User, f.Verdict, targets, f.Reason, f.Resource, w.verdict, w.targets, w.inReason)
		}
	}
	// At 2 days, alice's key (last used 4 days ago) is stale but her
	// password (used 27 hours ago) is not.
	b2, err := rule.BindWith(c, map[string]string{ParamMaxAge: "2"})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := b2.Evaluate(context.Background(), offline, rule.Target{Evidence: report(t)[1]})
	if f.Verdict != rule.Violation || len(f.Actions) != 1 || strings.Contains(f.Reason, "console password") {
		t.Fatalf("alice at 2 days: %+v", f)
	}
}

func TestStale(t *testing.T) {
	t.Parallel()
	limit := 90 * 24 * time.Hour
	cases := []struct {
		name  string
		cr    credential
		stale bool
		desc  string
	}{
		{"used yesterday", credential{Key: true, ID: "AKIA1", Created: date("2020-01-01T00:00:00Z"), LastUsed: clock.Add(-24 * time.Hour)}, false, "access key AKIA1 last used 2026-03-14 (1 days ago)"},
		{"used 91 days ago", credential{Key: true, ID: "AKIA1", LastUsed: clock.Add(-91 * 24 * time.Hour)}, true, "(91 days ago)"},
		{"exactly 90 days is not more than 90", credential{Key: true, ID: "AKIA1", LastUsed: clock.Add(-limit)}, false, "(90 days ago)"},
		{"never used, young", credential{Key: true, ID: "AKIA1", Created: clock.Add(-10 * 24 * time.Hour)}, false, "never used, created"},
		{"never used, old", credential{Key: true, ID: "AKIA1", Created: clock.Add(-100 * 24 * time.Hour)}, true, "never used, created 2025-12-05 (100 days ago)"},
		{"no dates at all: never acted on", credential{Key: true, Slot: 2}, false, "access key 2 has no usage or creation date"},
		{"password", credential{LastUsed: clock.Add(-200 * 24 * time.Hour)}, true, "console password last used"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, d := c.cr.stale(clock, limit)
			if s != c.stale || !strings.Contains(d, c.desc) {
				t.Fatalf("stale = %v %q, want %v containing %q", s, d, c.stale, c.desc)
			}
		})
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0", "-5", "ninety", "3651", "1.5"} {
		if _, err := Rule.Meta().Resolve(map[string]string{ParamMaxAge: v}); err == nil {
			t.Errorf("maxAgeDays=%s accepted", v)
		}
	}
	if _, err := Rule.Meta().Resolve(map[string]string{ParamMaxAge: "45"}); err != nil {
		t.Error(err)
	}
}

// fakeReports plays IAM's report states. moto goes straight from STARTED to
// COMPLETE; AWS can also answer INPROGRESS or ReportInProgress, which only a
// stand-in for these two calls can show.
type fakeReports struct {
	states []iamtypes.ReportStateType
	getErr []error
	gens   int
	gets   int
}

func (f *fakeReports) GenerateCredentialReport(context.Context, *iam.GenerateCredentialReportInput, ...func(*iam.Options)) (*iam.GenerateCredentialReportOutput, error) {
	st := f.states[min(f.gens, len(f.states)-1)]
	f.gens++
	return &iam.GenerateCredentialReportOutput{State: st}, nil
}

func (f *fakeReports) GetCredentialReport(context.Context, *iam.GetCredentialReportInput, ...func(*iam.Options)) (*iam.GetCredentialReportOutput, error) {
	f.gets++
	if len(f.getErr) >= f.gets && f.getErr[f.gets-1] != nil {
		return nil, f.getErr[f.gets-1]
	}
	return &iam.GetCredentialReportOutput{Content: []byte("user\n")}, nil
}

func TestFetchReportPolls(t *testing.T) {
	t.Parallel()
	inProgress := &smithy.GenericAPIError{Code: "ReportInProgress", Message: "not ready"}
	f := &fakeReports{states: []iamtypes.ReportStateType{"STARTED", "INPROGRESS", "COMPLETE"}, getErr: []error{inProgress, nil}}
	if _, err := fetchReport(context.Background(), f, time.Millisecond, 5); err != nil {
		t.Fatal(err)
	}
	if f.gens != 4 || f.gets != 2 {
		t.Fatalf("generate %d, get %d", f.gens, f.gets)
	}
	// Bounded: gives up after the polls allowed.
	f = &fakeReports{states: []iamtypes.ReportStateType{"INPROGRESS"}}
	if _, err := fetchReport(context.Background(), f, time.Millisecond, 3); err == nil || f.gens != 3 {
		t.Fatalf("err = %v after %d polls", err, f.gens)
	}
	// Honours the context while waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f = &fakeReports{states: []iamtypes.ReportStateType{"STARTED"}}
	if _, err := fetchReport(ctx, f, time.Hour, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	// Any other error is returned at once.
	f = &fakeReports{states: []iamtypes.ReportStateType{"COMPLETE"}, getErr: []error{&smithy.GenericAPIError{Code: "AccessDenied"}}}
	if _, err := fetchReport(context.Background(), f, time.Millisecond, 5); !awsclient.HasCode(err, "AccessDenied") || f.gets != 1 {
		t.Fatalf("err = %v", err)
	}
}

// FuzzParseReport: whatever IAM (or an emulator) returns, the parser errs
// or yields rows; it never panics.
func FuzzParseReport(f *testing.F) {
	raw, err := os.ReadFile("testdata/credential-report.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("user,arn\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rows, err := ParseReport(in)
		if err == nil {
			for _, r := range rows {
				_ = fromRow(r)
			}
		}
	})
}
