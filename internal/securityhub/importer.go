package securityhub

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/rampart-aws/rampart/internal/awsclient"
)

// MaxBatch is how many findings one BatchImportFindings call takes.
const MaxBatch = 100

// API is the one Security Hub call Rampart makes (IAM
// securityhub:BatchImportFindings).
type API interface {
	BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
}

// Importer imports findings into the hub of a session's account and region.
type Importer struct {
	// Client builds the API of a session; nil uses the SDK client.
	Client func(s *awsclient.Session) API
}

// Failure is one finding Security Hub did not take.
type Failure struct {
	ID, Code, Message string
}

// Import imports the findings in batches of MaxBatch through s (the
// account the findings belong to: with the default product ARN, only that
// account may import them). It returns the findings Security Hub rejected
// one by one, and an error when a batch failed as a whole (those findings
// are in the failures too).
func (im *Importer) Import(ctx context.Context, s *awsclient.Session, fs []types.AwsSecurityFinding) ([]Failure, error) {
	var api API
	if im != nil && im.Client != nil {
		api = im.Client(s)
	} else {
		api = awsclient.Client(s, securityhub.NewFromConfig)
	}
	var failed []Failure
	var errs []error
	for start := 0; start < len(fs); start += MaxBatch {
		batch := fs[start:min(start+MaxBatch, len(fs))]
		out, err := api.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
		if err != nil {
			errs = append(errs, fmt.Errorf("securityhub:BatchImportFindings of %d findings: %w", len(batch), err))
			for _, f := range batch {
				failed = append(failed, Failure{ID: aws.ToString(f.Id), Code: "RequestFailed", Message: err.Error()})
			}
			continue
		}
		for _, f := range out.FailedFindings {
			failed = append(failed, Failure{ID: aws.ToString(f.Id), Code: aws.ToString(f.ErrorCode), Message: aws.ToString(f.ErrorMessage)})
		}
	}
	return failed, errors.Join(errs...)
}
