package demo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

const (
	configRecorder = "default" // the recorder the sample events name
	configBucket   = "config-bucket-123456789012"
	configRole     = "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
)

var configScenarios = []Scenario{
	{
		Rule:   "config-tampering",
		Name:   "stopped Config recorder",
		Events: []string{"cloudtrail/config-stop-configuration-recorder.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			s3c := awsclient.Client(s, s3.NewFromConfig, func(o *s3.Options) { o.UsePathStyle = s.S3PathStyle })
			if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(configBucket)}); err != nil {
				return Fixture{}, fmt.Errorf("create bucket %s: %w", configBucket, err)
			}
			c := awsclient.Client(s, configservice.NewFromConfig)
			name := aws.String(configRecorder)
			if _, err := c.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
				Name: name, RoleARN: aws.String(configRole), RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true}}}); err != nil {
				return Fixture{}, fmt.Errorf("put recorder: %w", err)
			}
			if _, err := c.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{
				Name: aws.String("default"), S3BucketName: aws.String(configBucket)}}); err != nil {
				return Fixture{}, fmt.Errorf("put delivery channel: %w", err)
			}
			if _, err := c.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: name}); err != nil {
				return Fixture{}, fmt.Errorf("start recorder: %w", err)
			}
			if _, err := c.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: name}); err != nil {
				return Fixture{}, fmt.Errorf("stop recorder: %w", err)
			}
			// The sample event's recorder is "default", as seeded: nothing to rewrite.
			return Fixture{ID: configRecorder, Label: "Config recorder " + configRecorder}, nil
		},
		State: func(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
			c := awsclient.Client(s, configservice.NewFromConfig)
			st, err := c.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{ConfigurationRecorderNames: []string{f.ID}})
			if err != nil || len(st.ConfigurationRecordersStatus) == 0 {
				return nil, fmt.Errorf("recorder status %s: %w", f.ID, err)
			}
			ch, err := c.DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{})
			if err != nil {
				return nil, fmt.Errorf("delivery channels: %w", err)
			}
			channel := "none"
			if len(ch.DeliveryChannels) > 0 {
				channel = "s3://" + aws.ToString(ch.DeliveryChannels[0].S3BucketName)
			}
			return []string{
				"recording: " + onOff(st.ConfigurationRecordersStatus[0].Recording, "on", "off"),
				"delivery channel: " + channel,
			}, nil
		},
		Want: []string{"recording: on", "delivery channel: s3://" + configBucket},
	},
}
