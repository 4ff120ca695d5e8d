package demo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// The invented trail and bucket the cloudtrail-* events name.
const (
	eventTrail  = "management-events"
	eventBucket = "aws-cloudtrail-logs-123456789012-3f9c1a2b"
)

var cloudTrailScenarios = []Scenario{
	{
		Rule:   "cloudtrail-integrity",
		Name:   "stopped trail",
		Events: []string{"cloudtrail/cloudtrail-stop-logging.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			return seedTrail(ctx, s, "org-audit", false, func(ct *cloudtrail.Client) error {
				_, err := ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("org-audit")})
				return err
			})
		},
		State: trailState,
		Want:  []string{"logging: on", "log-file validation: on", "multi-region: yes", "management events: read and write"},
	},
	{
		Rule: "cloudtrail-integrity",
		Name: "trail with validation off and management events excluded",
		Events: []string{"cloudtrail/cloudtrail-update-trail-weakened.json",
			"cloudtrail/cloudtrail-put-event-selectors-no-management.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			return seedTrail(ctx, s, "app-trail", true, func(ct *cloudtrail.Client) error {
				// What the two calls in the events did.
				if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("app-trail"),
					EnableLogFileValidation: aws.Bool(false), IsMultiRegionTrail: aws.Bool(false)}); err != nil {
					return err
				}
				_, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("app-trail"),
					EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeReadOnly, IncludeManagementEvents: aws.Bool(false)}}})
				return err
			})
		},
		State: trailState,
		Want:  []string{"logging: on", "log-file validation: on", "multi-region: yes", "management events: read and write"},
	},
}

// seedTrail creates a healthy trail (multi-region, validated, logging every
// management event) and then weakens it.
// The events' invented bucket is rewritten when bucketInEvents.
func seedTrail(ctx context.Context, s *awsclient.Session, name string, bucketInEvents bool, weaken func(*cloudtrail.Client) error) (Fixture, error) {
	bucket := name + "-logs-123456789012"
	s3c := awsclient.Client(s, s3.NewFromConfig, func(o *s3.Options) { o.UsePathStyle = s.S3PathStyle })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return Fixture{}, fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	ct := awsclient.Client(s, cloudtrail.NewFromConfig)
	_, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true)})
	if err != nil {
		return Fixture{}, fmt.Errorf("create trail %s: %w", name, err)
	}
	// AWS gives a new trail one selector recording all management events;
	// moto 5.2.1 gives it none, so set AWS's default explicitly.
	if _, err := ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(name),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true)}}}); err != nil {
		return Fixture{}, fmt.Errorf("put event selectors on %s: %w", name, err)
	}
	if _, err := ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(name)}); err != nil {
		return Fixture{}, fmt.Errorf("start logging %s: %w", name, err)
	}
	if err := weaken(ct); err != nil {
		return Fixture{}, fmt.Errorf("weaken trail %s: %w", name, err)
	}
	f := Fixture{ID: name, Label: "trail " + name, Replace: map[string]string{eventTrail: name}}
	if bucketInEvents {
		f.Replace[eventBucket] = bucket
	}
	return f, nil
}

// trailState reads a trail back as "key: value" lines.
func trailState(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
	ct := awsclient.Client(s, cloudtrail.NewFromConfig)
	got, err := ct.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(f.ID)})
	if err != nil {
		return nil, fmt.Errorf("get trail %s: %w", f.ID, err)
	}
	st, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(f.ID)})
	if err != nil {
		return nil, fmt.Errorf("get trail status %s: %w", f.ID, err)
	}
	sel, err := ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(f.ID)})
	if err != nil {
		return nil, fmt.Errorf("get event selectors %s: %w", f.ID, err)
	}
	return []string{
		"logging: " + onOff(aws.ToBool(st.IsLogging), "on", "off"),
		"log-file validation: " + onOff(aws.ToBool(got.Trail.LogFileValidationEnabled), "on", "off"),
		"multi-region: " + onOff(aws.ToBool(got.Trail.IsMultiRegionTrail), "yes", "no"),
		"management events: " + managementEvents(sel),
	}, nil
}

func onOff(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// managementEvents says which management events the selectors record.
func managementEvents(sel *cloudtrail.GetEventSelectorsOutput) string {
	reads, writes := false, false
	for _, s := range sel.EventSelectors {
		if !aws.ToBool(s.IncludeManagementEvents) {
			continue
		}
		switch s.ReadWriteType {
		case cttypes.ReadWriteTypeReadOnly:
			reads = true
		case cttypes.ReadWriteTypeWriteOnly:
			writes = true
		default:
			reads, writes = true, true
		}
	}
	for _, s := range sel.AdvancedEventSelectors {
		mgmt, ro, roValue := false, false, ""
		for _, f := range s.FieldSelectors {
			switch aws.ToString(f.Field) {
			case "eventCategory":
				for _, v := range f.Equals {
					mgmt = mgmt || v == "Management"
				}
			case "readOnly":
				ro = len(f.Equals) > 0
				if ro {
					roValue = f.Equals[0]
				}
			}
		}
		switch {
		case !mgmt:
		case !ro:
			reads, writes = true, true
		case roValue == "true":
			reads = true
		default:
			writes = true
		}
	}
	switch {
	case reads && writes:
		return "read and write"
	case reads:
		return "read only"
	case writes:
		return "write only"
	}
	return "none"
}
