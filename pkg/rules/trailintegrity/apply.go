package trailintegrity

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/pkg/awsclient"
	"github.com/rampart-aws/rampart/pkg/rule"
)

type nameParams struct {
	Name string `json:"name"`
}

// updateParams are the UpdateTrail fields a plan sets; nil leaves a field as is.
type updateParams struct {
	Name                    string  `json:"name"`
	EnableLogFileValidation *bool   `json:"enableLogFileValidation,omitempty"`
	IsMultiRegionTrail      *bool   `json:"isMultiRegionTrail,omitempty"`
	KMSKeyID                *string `json:"kmsKeyId,omitempty"`
	LogGroupARN             *string `json:"cloudWatchLogsLogGroupArn,omitempty"`
	LogRoleARN              *string `json:"cloudWatchLogsRoleArn,omitempty"`
}

func (u updateParams) changes() bool {
	return u.EnableLogFileValidation != nil || u.IsMultiRegionTrail != nil || u.KMSKeyID != nil || u.LogGroupARN != nil
}

func (u updateParams) describe() string {
	var parts []string
	if u.EnableLogFileValidation != nil {
		parts = append(parts, "log-file validation")
	}
	if u.IsMultiRegionTrail != nil {
		parts = append(parts, "multi-region recording")
	}
	if u.KMSKeyID != nil {
		parts = append(parts, "KMS encryption with "+*u.KMSKeyID)
	}
	if u.LogGroupARN != nil {
		parts = append(parts, "CloudWatch Logs delivery to "+*u.LogGroupARN)
	}
	return strings.Join(parts, ", ")
}

type selectorParams struct {
	Name     string                          `json:"name"`
	Basic    []cttypes.EventSelector         `json:"eventSelectors,omitempty"`
	Advanced []cttypes.AdvancedEventSelector `json:"advancedEventSelectors,omitempty"`
}

type createParams struct {
	Name        string `json:"name"`
	Bucket      string `json:"s3BucketName"`
	MultiRegion bool   `json:"isMultiRegionTrail"`
	Validation  bool   `json:"enableLogFileValidation"`
	KMSKeyID    string `json:"kmsKeyId,omitempty"`
	LogGroupARN string `json:"cloudWatchLogsLogGroupArn,omitempty"`
	LogRoleARN  string `json:"cloudWatchLogsRoleArn,omitempty"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// Apply implements rule.Rule for every action of a plan and its undo.
func (*trailRule) Apply(ctx context.Context, s *awsclient.Session, a rule.Action) error {
	client := awsclient.Client(s, cloudtrail.NewFromConfig)
	var err error
	switch a.API {
	case apiStart, apiStop, apiDelete:
		var p nameParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		switch a.API {
		case apiStart:
			_, err = client.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(p.Name)})
		case apiStop:
			_, err = client.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(p.Name)})
		case apiDelete:
			_, err = client.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(p.Name)})
		}
	case apiUpdate:
		var p updateParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		_, err = client.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(p.Name),
			EnableLogFileValidation: p.EnableLogFileValidation, IsMultiRegionTrail: p.IsMultiRegionTrail,
			KmsKeyId: p.KMSKeyID, CloudWatchLogsLogGroupArn: p.LogGroupARN, CloudWatchLogsRoleArn: p.LogRoleARN})
	case apiSelectors:
		var p selectorParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		in := &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(p.Name)}
		if len(p.Advanced) > 0 {
			in.AdvancedEventSelectors = p.Advanced
		} else {
			in.EventSelectors = p.Basic
		}
		_, err = client.PutEventSelectors(ctx, in)
	case apiCreate:
		var p createParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		_, err = client.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(p.Name), S3BucketName: aws.String(p.Bucket),
			IsMultiRegionTrail: aws.Bool(p.MultiRegion), EnableLogFileValidation: aws.Bool(p.Validation),
			KmsKeyId: optional(p.KMSKeyID), CloudWatchLogsLogGroupArn: optional(p.LogGroupARN), CloudWatchLogsRoleArn: optional(p.LogRoleARN)})
		if awsclient.HasCode(err, "TrailAlreadyExistsException") {
			return fmt.Errorf("%s %s: %w", a.API, a.Target, rule.ErrNoOp)
		}
	default:
		return fmt.Errorf("cloudtrail-integrity cannot apply %s", a.API)
	}
	if awsclient.HasCode(err, "TrailNotFoundException") {
		return fmt.Errorf("%s %s: the trail is gone: %w", a.API, a.Target, rule.ErrNoOp)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", a.API, a.Target, err)
	}
	return nil
}
