package stalecredentials

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// RootUser is the credential report's name for the account's root user.
const RootUser = "<root_account>"

// Row is one line of the IAM credential report: one user (or the root user)
// with the state of its password and two access-key slots. A zero time means
// the report gave no date: never used, not applicable or not tracked.
type Row struct {
	User     string
	ARN      string
	Created  time.Time
	Password Password
	Keys     [2]KeySlot
}

// Password is the console password columns of a report row.
type Password struct {
	Enabled     bool
	LastUsed    time.Time
	LastChanged time.Time
}

// KeySlot is the columns of one access-key slot.
type KeySlot struct {
	Active      bool
	LastRotated time.Time // when the key was created or last changed
	LastUsed    time.Time
}

// The report's columns this rule reads; the others are ignored, and their
// order may change.
const (
	colUser        = "user"
	colARN         = "arn"
	colCreated     = "user_creation_time"
	colPwEnabled   = "password_enabled"
	colPwLastUsed  = "password_last_used"
	colPwChanged   = "password_last_changed"
	colKeyActive   = "access_key_%d_active"
	colKeyRotated  = "access_key_%d_last_rotated"
	colKeyLastUsed = "access_key_%d_last_used_date"
)

// noDate is every non-date value the report documents: N/A (no such
// credential, or a key never used), no_information (a password never used,
// or not used since IAM began tracking in October 2014) and not_supported
// (columns that do not apply to the root user, or that an emulator leaves out).
var noDate = map[string]bool{"N/A": true, "no_information": true, "not_supported": true, "": true}

// ParseReport reads the credential report's CSV. A missing column, a ragged
// line or a value that is neither a date nor a documented placeholder is an
// error: a rule that deactivates keys must not act on a report it misreads.
func ParseReport(content []byte) ([]Row, error) {
	r := csv.NewReader(bytes.NewReader(content))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("credential report header: %w", err)
	}
	idx := map[string]int{}
	for i, name := range header {
		idx[strings.TrimSpace(name)] = i
	}
	need := []string{colUser, colARN, colCreated, colPwEnabled, colPwLastUsed, colPwChanged}
	for n := 1; n <= 2; n++ {
		need = append(need, fmt.Sprintf(colKeyActive, n), fmt.Sprintf(colKeyRotated, n), fmt.Sprintf(colKeyLastUsed, n))
	}
	for _, c := range need {
		if _, ok := idx[c]; !ok {
			return nil, fmt.Errorf("credential report lacks column %q", c)
		}
	}
	var rows []Row
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("credential report: %w", err)
		}
		p := rowParser{rec: rec, idx: idx, line: line}
		row := Row{User: p.text(colUser), ARN: p.text(colARN), Created: p.date(colCreated)}
		row.Password = Password{Enabled: p.flag(colPwEnabled), LastUsed: p.date(colPwLastUsed), LastChanged: p.date(colPwChanged)}
		for n := 1; n <= 2; n++ {
			row.Keys[n-1] = KeySlot{Active: p.flag(fmt.Sprintf(colKeyActive, n)),
				LastRotated: p.date(fmt.Sprintf(colKeyRotated, n)), LastUsed: p.date(fmt.Sprintf(colKeyLastUsed, n))}
		}
		if p.err != nil {
			return nil, p.err
		}
		if row.User == "" {
			return nil, fmt.Errorf("credential report line %d: empty user", line)
		}
		rows = append(rows, row)
	}
}

// rowParser reads cells of one record, keeping the first error.
type rowParser struct {
	rec  []string
	idx  map[string]int
	line int
	err  error
}

func (p *rowParser) text(col string) string { return strings.TrimSpace(p.rec[p.idx[col]]) }

func (p *rowParser) fail(col, v, want string) {
	if p.err == nil {
		p.err = fmt.Errorf("credential report line %d, %s: %q is not %s", p.line, col, v, want)
	}
}

func (p *rowParser) date(col string) time.Time {
	v := p.text(col)
	if noDate[v] {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.fail(col, v, "a date or N/A, no_information, not_supported")
	}
	return t
}

func (p *rowParser) flag(col string) bool {
	v := p.text(col)
	if noDate[v] {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(col, v, "true, false or a placeholder")
	}
	return b
}

// reportAPI is the part of the IAM client fetching the report needs.
type reportAPI interface {
	GenerateCredentialReport(context.Context, *iam.GenerateCredentialReportInput, ...func(*iam.Options)) (*iam.GenerateCredentialReportOutput, error)
	GetCredentialReport(context.Context, *iam.GetCredentialReportInput, ...func(*iam.Options)) (*iam.GetCredentialReportOutput, error)
}

// fetchReport asks IAM for a credential report no older than four hours
// (IAM's own rule: GenerateCredentialReport starts a new one only when the
// last is older) and waits for it politely: a bounded number of polls, the
// pause doubling up to maxWait, and the context's deadline honoured.
func fetchReport(ctx context.Context, client reportAPI, wait time.Duration, polls int) (*iam.GetCredentialReportOutput, error) {
	const maxWait = 8 * time.Second
	for attempt := 1; ; attempt++ {
		gen, err := client.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})
		if err != nil {
			return nil, fmt.Errorf("generate credential report: %w", err)
		}
		if gen.State == iamtypes.ReportStateTypeComplete {
			out, err := client.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
			switch {
			case err == nil:
				return out, nil
			case !awsclient.HasCode(err, "ReportInProgress", "ReportNotPresent", "ReportExpired"):
				return nil, fmt.Errorf("get credential report: %w", err)
			}
		}
		if attempt >= polls {
			return nil, fmt.Errorf("credential report still not ready after %d attempts (state %s)", attempt, gen.State)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting for the credential report: %w", err)
		}
		wait = min(2*wait, maxWait)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
