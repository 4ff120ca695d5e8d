package demo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// The invented IDs of the EC2 sample events, and the resultToken of the
// Config samples: Config sends a token to echo in PutEvaluations; moto 5.2.1
// implements PutEvaluations for the test-mode token only.
const (
	eventVolumeID     = "vol-0a01e8b64c8a49aae"
	eventInstanceID   = "i-0608144705c8a6401"
	eventAllocationID = "eipalloc-0b644b07241e1cb4a"
	eventPublicIP     = "3.215.77.10"
	eventNewVPC       = "vpc-06ff2643980c830c4"
	eventConfigToken  = "eyJlbmNyeXB0ZWREYXRhIjpbLTQ4LDEyMiwtOTEsNzcsMzMsLTEwNywxOSw2NCwtMTIsOTgsLTEyMCw1NSwxMTAsLTMyLDg1LDEwMSwtNzMsMjgsNDYsLTU2LDEwOCwtMTAwLDIsLTQwLDk0LC0xMTcsMzgsNjksLTk2LDEyMyw0MSwtMTBdLCJtYXRlcmlhbFNldFNlcmlhbE51bWJlciI6MSwiaXZQYXJhbWV0ZXJTcGVjIjp7Iml2IjpbLTc1LDEwMywxNywtMTI4LDk5LC0xOCw1NCw3MCwtODgsMTA1LDEsLTY2LC0zMywxMjEsNDQsLTIxXX19"
	testModeToken     = "TESTMODE"
	flowLogBucket     = "flow-logs-123456789012"
)

var ec2Scenarios = []Scenario{
	{
		Rule:   "ebs-attached-encrypted",
		Name:   "unencrypted attached volume",
		Events: []string{"config/volume-change-notification.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			c := awsclient.Client(s, ec2.NewFromConfig)
			run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				Placement: &ec2types.Placement{AvailabilityZone: aws.String("us-east-1a")}})
			if err != nil {
				return Fixture{}, fmt.Errorf("run instance: %w", err)
			}
			inst := aws.ToString(run.Instances[0].InstanceId)
			vol, err := c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(30),
				Encrypted: aws.Bool(false), VolumeType: ec2types.VolumeTypeGp3})
			if err != nil {
				return Fixture{}, fmt.Errorf("create volume: %w", err)
			}
			id := aws.ToString(vol.VolumeId)
			if _, err := c.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(id), InstanceId: aws.String(inst),
				Device: aws.String("/dev/sdf")}); err != nil {
				return Fixture{}, fmt.Errorf("attach volume: %w", err)
			}
			// The cause: encryption by default is off in the region.
			if _, err := c.DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{}); err != nil {
				return Fixture{}, fmt.Errorf("disable EBS encryption by default: %w", err)
			}
			return Fixture{ID: id, Label: id + " (api-root)", Replace: map[string]string{
				eventVolumeID: id, eventInstanceID: inst, eventConfigToken: testModeToken}}, nil
		},
		// No State: EBS cannot encrypt a volume in place, so the rule only
		// alerts (the region's default is ebs-default-encryption's): the
		// scenario shows its notification.
	},
	{
		Rule:   "ec2-imdsv2-required",
		Name:   "instance launched with IMDSv1",
		Events: []string{"service/ec2-instance-running.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			run, err := awsclient.Client(s, ec2.NewFromConfig).RunInstances(ctx, &ec2.RunInstancesInput{
				ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				MetadataOptions: &ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensStateOptional,
					HttpEndpoint: ec2types.InstanceMetadataEndpointStateEnabled, HttpPutResponseHopLimit: aws.Int32(2)},
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
					Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web-1")}, {Key: aws.String("owner"), Value: aws.String("web@example.com")}}}}})
			if err != nil {
				return Fixture{}, fmt.Errorf("run instance: %w", err)
			}
			id := aws.ToString(run.Instances[0].InstanceId)
			return Fixture{ID: id, Label: id + " (web-1)", Replace: map[string]string{eventInstanceID: id}}, nil
		},
		State: func(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
			out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{f.ID}})
			if err != nil || len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
				return nil, fmt.Errorf("describe instance %s: %w", f.ID, err)
			}
			o := out.Reservations[0].Instances[0].MetadataOptions
			if o == nil {
				return nil, fmt.Errorf("instance %s: no metadata options", f.ID)
			}
			// Not the hop limit: moto resets it on every modify, where AWS
			// keeps what the request leaves out.
			return []string{"IMDS tokens: " + string(o.HttpTokens), "IMDS endpoint: " + string(o.HttpEndpoint)}, nil
		},
		Want: []string{"IMDS tokens: required", "IMDS endpoint: enabled"},
	},
	{
		Rule:   "eip-attached",
		Name:   "unattached Elastic IP",
		Events: []string{"config/eip-change-notification.json"},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			out, err := awsclient.Client(s, ec2.NewFromConfig).AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc,
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeElasticIp,
					Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("legacy-nat")}}}}})
			if err != nil {
				return Fixture{}, fmt.Errorf("allocate address: %w", err)
			}
			id, ip := aws.ToString(out.AllocationId), aws.ToString(out.PublicIp)
			return Fixture{ID: id, Label: ip + " (legacy-nat)", Replace: map[string]string{
				eventAllocationID: id, eventPublicIP: ip, eventConfigToken: testModeToken}}, nil
		},
		State: func(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
			out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{f.ID}})
			if err != nil || len(out.Addresses) == 0 {
				return nil, fmt.Errorf("describe address %s: %w", f.ID, err)
			}
			a := out.Addresses[0]
			pending := "no"
			for _, t := range a.Tags {
				if aws.ToString(t.Key) == "rampart:unattached-since" {
					pending = "yes (tag rampart:unattached-since; released after the grace period)"
				}
			}
			return []string{
				"associated: " + onOff(aws.ToString(a.AssociationId) != "", "yes", "no"),
				"release scheduled: " + pending,
			}, nil
		},
		Want: []string{"associated: no", "release scheduled: yes (tag rampart:unattached-since; released after the grace period)"},
	},
	{
		Rule:   "vpc-flow-logs",
		Name:   "new VPC without flow logs",
		Events: []string{"cloudtrail/ec2-create-vpc.json"},
		Params: map[string]string{"destinationType": "s3", "s3BucketArn": "arn:aws:s3:::" + flowLogBucket},
		Seed: func(ctx context.Context, s *awsclient.Session) (Fixture, error) {
			s3c := awsclient.Client(s, s3.NewFromConfig, func(o *s3.Options) { o.UsePathStyle = s.S3PathStyle })
			if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(flowLogBucket)}); err != nil {
				return Fixture{}, fmt.Errorf("create bucket %s: %w", flowLogBucket, err)
			}
			vpc, err := awsclient.Client(s, ec2.NewFromConfig).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
			if err != nil {
				return Fixture{}, fmt.Errorf("create VPC: %w", err)
			}
			id := aws.ToString(vpc.Vpc.VpcId)
			return Fixture{ID: id, Label: id + " (10.20.0.0/16)", Replace: map[string]string{eventNewVPC: id}}, nil
		},
		State: func(ctx context.Context, s *awsclient.Session, f Fixture) ([]string, error) {
			out, err := awsclient.Client(s, ec2.NewFromConfig).DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{
				Filter: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{f.ID}}}})
			if err != nil {
				return nil, fmt.Errorf("describe flow logs of %s: %w", f.ID, err)
			}
			if len(out.FlowLogs) == 0 {
				return []string{"flow logs: none"}, nil
			}
			var lines []string
			for _, l := range out.FlowLogs {
				lines = append(lines, fmt.Sprintf("flow logs: %s traffic to %s %s", l.TrafficType, l.LogDestinationType,
					aws.ToString(l.LogDestination)+aws.ToString(l.LogGroupName)))
			}
			return lines, nil
		},
		Want: []string{"flow logs: ALL traffic to s3 arn:aws:s3:::" + flowLogBucket},
	},
}
