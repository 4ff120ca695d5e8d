package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trigger"
)

// MaxEvaluations is the most evaluations one PutEvaluations call accepts.
const MaxEvaluations = 100

// MaxAnnotation is the longest annotation Config keeps.
const MaxAnnotation = 256

// Evaluator sends Config evaluations for one result token.
type Evaluator interface {
	PutEvaluations(ctx context.Context, resultToken string, evals []cfgtypes.Evaluation) error
}

// ConfigService puts evaluations through the AWS Config API.
type ConfigService struct{ Session *awsclient.Session }

// PutEvaluations sends evals in batches of at most 100. A result token of
// TESTMODE sets TestMode, as AWS's rule development kit does; moto 5.2.1
// accepts PutEvaluations only in test mode, so tests use that token.
func (c *ConfigService) PutEvaluations(ctx context.Context, token string, evals []cfgtypes.Evaluation) error {
	client := awsclient.Client(c.Session, configservice.NewFromConfig)
	for start := 0; start < len(evals); start += MaxEvaluations {
		batch := evals[start:min(start+MaxEvaluations, len(evals))]
		out, err := client.PutEvaluations(ctx, &configservice.PutEvaluationsInput{
			ResultToken: aws.String(token),
			Evaluations: batch,
			TestMode:    token == trigger.TestModeToken,
		})
		if err != nil {
			return fmt.Errorf("put %d evaluations: %w", len(batch), err)
		}
		if len(out.FailedEvaluations) > 0 {
			return fmt.Errorf("put evaluations: %d of %d rejected", len(out.FailedEvaluations), len(batch))
		}
	}
	return nil
}

// Evaluation is the Config evaluation of one decision.
func Evaluation(d *Decision) cfgtypes.Evaluation {
	return cfgtypes.Evaluation{
		ComplianceResourceType: aws.String(d.ResourceType),
		ComplianceResourceId:   aws.String(d.Resource),
		ComplianceType:         ComplianceType(d.Verdict),
		Annotation:             aws.String(Annotation(d)),
		OrderingTimestamp:      aws.Time(d.OrderingTime),
	}
}

// ComplianceType maps a verdict to Config's vocabulary.
func ComplianceType(v rule.Verdict) cfgtypes.ComplianceType {
	switch v {
	case rule.Violation:
		return cfgtypes.ComplianceTypeNonCompliant
	case rule.Compliant:
		return cfgtypes.ComplianceTypeCompliant
	default: // not applicable, ignored
	}
	return cfgtypes.ComplianceTypeNotApplicable
}

// Annotation says why, and what Rampart did, in at most 256 characters.
func Annotation(d *Decision) string {
	s := d.Reason
	if len(d.Actions) > 0 {
		s += " Rampart: " + d.Did() + "."
	}
	s = strings.TrimSpace(s)
	return Truncate(s, MaxAnnotation)
}

// EvaluationTime is the ordering timestamp for a Config decision.
func EvaluationTime(inv *trigger.ConfigInvocation, item *trigger.ConfigItem, now time.Time) time.Time {
	switch {
	case item != nil && !item.CaptureTime.IsZero():
		return item.CaptureTime
	case !inv.NotificationTime.IsZero():
		return inv.NotificationTime
	}
	return now
}
