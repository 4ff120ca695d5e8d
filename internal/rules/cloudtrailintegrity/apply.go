package cloudtrailintegrity

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trailsel"
)

type nameParams struct {
	Name string `json:"name"`
}

// updateParams are the UpdateTrail fields a plan sets; nil leaves a field
// as is, "" clears it (the undo of a restored KMS key or log group).
type updateParams struct {
	Name                       string  `json:"name"`
	S3BucketName               *string `json:"s3BucketName,omitempty"`
	S3KeyPrefix                *string `json:"s3KeyPrefix,omitempty"`
	EnableLogFileValidation    *bool   `json:"enableLogFileValidation,omitempty"`
	IsMultiRegionTrail         *bool   `json:"isMultiRegionTrail,omitempty"`
	IncludeGlobalServiceEvents *bool   `json:"includeGlobalServiceEvents,omitempty"`
	KMSKeyID                   *string `json:"kmsKeyId,omitempty"`
	LogGroupARN                *string `json:"cloudWatchLogsLogGroupArn,omitempty"`
	LogRoleARN                 *string `json:"cloudWatchLogsRoleArn,omitempty"`
}

type selectorParams struct {
	Name string `json:"name"`
	trailsel.Selectors
}

type createParams struct {
	Name         string `json:"name"`
	Bucket       string `json:"s3BucketName"`
	Prefix       string `json:"s3KeyPrefix,omitempty"`
	MultiRegion  bool   `json:"isMultiRegionTrail"`
	GlobalEvents bool   `json:"includeGlobalServiceEvents"`
	Validation   bool   `json:"enableLogFileValidation"`
	KMSKeyID     string `json:"kmsKeyId,omitempty"`
	LogGroupARN  string `json:"cloudWatchLogsLogGroupArn,omitempty"`
	LogRoleARN   string `json:"cloudWatchLogsRoleArn,omitempty"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// apply makes one action of a plan, or its undo.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	client := awsclient.Client(env.Session, cloudtrail.NewFromConfig)
	var err error
	switch a.API {
	case apiStart, apiStop, apiDelete:
		var p nameParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		if p.Name == "" {
			return fmt.Errorf("%s: params need a trail name", a.API)
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
		if p.Name == "" {
			return fmt.Errorf("%s: params need a trail name", a.API)
		}
		// AWS refuses a multi-region trail without global service events
		// (moto 5.2.1 does not): never ask for one.
		if aws.ToBool(p.IsMultiRegionTrail) && p.IncludeGlobalServiceEvents != nil && !*p.IncludeGlobalServiceEvents {
			return fmt.Errorf("%s %s: a multi-region trail must include global service events", a.API, p.Name)
		}
		_, err = client.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(p.Name),
			S3BucketName: p.S3BucketName, S3KeyPrefix: p.S3KeyPrefix,
			EnableLogFileValidation: p.EnableLogFileValidation, IsMultiRegionTrail: p.IsMultiRegionTrail,
			IncludeGlobalServiceEvents: p.IncludeGlobalServiceEvents,
			KmsKeyId:                   p.KMSKeyID, CloudWatchLogsLogGroupArn: p.LogGroupARN, CloudWatchLogsRoleArn: p.LogRoleARN})
	case apiSelectors:
		var p selectorParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		if p.Name == "" {
			return fmt.Errorf("%s: params need a trail name", a.API)
		}
		// What AWS enforces and moto 5.2.1 does not: one form, at most five
		// basic selectors.
		if err := trailsel.Valid(p.Selectors); err != nil {
			return fmt.Errorf("%s %s: %w", a.API, p.Name, err)
		}
		in := &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(p.Name)}
		if p.IsAdvanced() {
			in.AdvancedEventSelectors = p.Advanced
		} else {
			in.EventSelectors = append([]cttypes.EventSelector{}, p.Basic...)
		}
		_, err = client.PutEventSelectors(ctx, in)
	case apiCreate:
		var p createParams
		if err := a.Decode(&p); err != nil {
			return err
		}
		if p.Name == "" || p.Bucket == "" {
			return fmt.Errorf("%s: params need a trail name and a bucket", a.API)
		}
		if p.MultiRegion && !p.GlobalEvents {
			return fmt.Errorf("%s %s: a multi-region trail must include global service events", a.API, p.Name)
		}
		_, err = client.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(p.Name), S3BucketName: aws.String(p.Bucket),
			S3KeyPrefix: optional(p.Prefix), IsMultiRegionTrail: aws.Bool(p.MultiRegion), IncludeGlobalServiceEvents: aws.Bool(p.GlobalEvents),
			EnableLogFileValidation: aws.Bool(p.Validation),
			KmsKeyId:                optional(p.KMSKeyID), CloudWatchLogsLogGroupArn: optional(p.LogGroupARN), CloudWatchLogsRoleArn: optional(p.LogRoleARN)})
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

// describe lists plan reasons for a message.
func describe(problems []string) string { return strings.Join(problems, "; ") }
