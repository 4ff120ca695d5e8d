package securityfindings

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/tagmap"
)

// observe reads what Rampart knows of the finding's resource now: one call
// for the resource types it knows (an instance's description, a user's,
// role's, bucket's or function's tags), none for the others. A finding
// that will not be notified (closed, or below minSeverity) costs no call;
// nor does one about another account (a GuardDuty or Inspector
// administrator receives its members' findings): its context is what the
// finding records.
func observe(ctx context.Context, env rule.Env, t rule.Target, p params) (current, error) {
	f, ok := t.Evidence.(finding)
	if !ok || !f.notable(p) {
		return current{}, nil
	}
	if s := env.Session; f.Account != "" && s.Account != "" && f.Account != s.Account {
		return current{Note: "a finding of account " + f.Account + ", received by this one: owner from the tags the finding records"}, nil
	}
	r := f.Resource
	switch r.Type {
	case typeInstance:
		return describeInstance(ctx, awsclient.Client(env.Session, ec2.NewFromConfig), r.ID)
	case typeUser:
		return userTags(ctx, awsclient.Client(env.Session, iam.NewFromConfig), r.ID)
	case typeRole:
		return roleTags(ctx, awsclient.Client(env.Session, iam.NewFromConfig), r.ID)
	case typeBucket:
		tags, err := s3bucket.Tags(ctx, env.Session, r.ID)
		if awsclient.HasCode(err, "NoSuchBucket") {
			return current{Gone: true}, nil
		}
		return current{Tags: tags}, err
	case typeFunction:
		if !strings.HasPrefix(r.ID, "arn:") {
			break // lambda:ListTags takes the function's ARN
		}
		return functionTags(ctx, awsclient.Client(env.Session, lambda.NewFromConfig), r.ID)
	}
	return current{Note: "Rampart does not read " + orKind(r) + " resources: owner from the tags the finding records"}, nil
}

func orKind(r resource) string {
	if r.Type != "" {
		return r.Type
	}
	return r.Kind
}

// instancesAPI is what the rule reads of EC2.
type instancesAPI interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// describeInstance reads the instance's tags and state: whether it runs,
// its type, network, public address and role.
func describeInstance(ctx context.Context, api instancesAPI, id string) (current, error) {
	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if awsclient.HasCode(err, "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed") ||
		err == nil && (len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0) {
		return current{Gone: true}, nil
	}
	if err != nil {
		return current{}, fmt.Errorf("describe instance %s: %w", id, err)
	}
	in := out.Reservations[0].Instances[0]
	var parts []string
	if in.State != nil {
		parts = append(parts, string(in.State.Name))
	}
	if in.InstanceType != "" {
		parts = append(parts, string(in.InstanceType))
	}
	if v := aws.ToString(in.VpcId); v != "" {
		parts = append(parts, "in "+v)
	}
	state := strings.Join(parts, " ")
	if ip := aws.ToString(in.PublicIpAddress); ip != "" {
		state += ", public IP " + ip
	} else {
		state += ", no public IP"
	}
	if in.IamInstanceProfile != nil {
		state += ", instance profile " + aws.ToString(in.IamInstanceProfile.Arn)
	}
	return current{Tags: tagmap.EC2(in.Tags), State: state}, nil
}

// iamTagsAPI is what the rule reads of IAM.
type iamTagsAPI interface {
	ListUserTags(context.Context, *iam.ListUserTagsInput, ...func(*iam.Options)) (*iam.ListUserTagsOutput, error)
	ListRoleTags(context.Context, *iam.ListRoleTagsInput, ...func(*iam.Options)) (*iam.ListRoleTagsOutput, error)
}

func userTags(ctx context.Context, api iamTagsAPI, name string) (current, error) {
	out, err := api.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String(name)})
	if awsclient.HasCode(err, "NoSuchEntity") {
		return current{Gone: true}, nil
	}
	if err != nil {
		return current{}, fmt.Errorf("tags of user %s: %w", name, err)
	}
	return current{Tags: iamTags(out.Tags)}, nil
}

func roleTags(ctx context.Context, api iamTagsAPI, name string) (current, error) {
	out, err := api.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(name)})
	if awsclient.HasCode(err, "NoSuchEntity") {
		return current{Gone: true}, nil
	}
	if err != nil {
		return current{}, fmt.Errorf("tags of role %s: %w", name, err)
	}
	return current{Tags: iamTags(out.Tags)}, nil
}

// functionTagsAPI is what the rule reads of Lambda.
type functionTagsAPI interface {
	ListTags(context.Context, *lambda.ListTagsInput, ...func(*lambda.Options)) (*lambda.ListTagsOutput, error)
}

func functionTags(ctx context.Context, api functionTagsAPI, arn string) (current, error) {
	out, err := api.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(arn)})
	if awsclient.HasCode(err, "ResourceNotFoundException") {
		return current{Gone: true}, nil
	}
	if err != nil {
		return current{}, fmt.Errorf("tags of function %s: %w", arn, err)
	}
	tags := out.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return current{Tags: tags}, nil
}

// iamTags maps IAM tags (tagmap imports no IAM types: see its doc).
func iamTags(tags []iamtypes.Tag) map[string]string {
	return tagmap.Of(tags, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value })
}
