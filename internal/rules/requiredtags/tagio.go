package requiredtags

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/s3bucket"
	"github.com/rampart-aws/rampart/internal/tagmap"
)

func ec2Client(s *awsclient.Session) *ec2.Client { return awsclient.Client(s, ec2.NewFromConfig) }

// notFound are the codes that mean the resource is gone, per type.
var notFound = map[string][]string{
	TypeInstance:      {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"},
	TypeVolume:        {"InvalidVolume.NotFound", "InvalidVolumeID.Malformed"},
	TypeSecurityGroup: {"InvalidGroup.NotFound", "InvalidGroupId.Malformed"},
	TypeBucket:        {"NoSuchBucket"},
}

// readTags reads one resource's current tags; found is false when it is gone.
func readTags(ctx context.Context, s *awsclient.Session, typ, id string) (tags map[string]string, found bool, err error) {
	switch typ {
	case TypeInstance:
		out, err := ec2Client(s).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err == nil && len(out.Reservations) > 0 && len(out.Reservations[0].Instances) > 0 {
			return tagmap.EC2(out.Reservations[0].Instances[0].Tags), true, nil
		}
		return gone(typ, id, err)
	case TypeVolume:
		out, err := ec2Client(s).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
		if err == nil && len(out.Volumes) > 0 {
			return tagmap.EC2(out.Volumes[0].Tags), true, nil
		}
		return gone(typ, id, err)
	case TypeSecurityGroup:
		out, err := ec2Client(s).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		if err == nil && len(out.SecurityGroups) > 0 {
			return tagmap.EC2(out.SecurityGroups[0].Tags), true, nil
		}
		return gone(typ, id, err)
	case TypeBucket:
		tags, err := s3bucket.Tags(ctx, s, id)
		if err != nil {
			return gone(typ, id, err)
		}
		return tags, true, nil
	}
	return nil, false, fmt.Errorf("required-tags cannot read %s", typ)
}

// gone turns a describe error into not-found or a wrapped error.
func gone(typ, id string, err error) (map[string]string, bool, error) {
	if err == nil || awsclient.HasCode(err, notFound[typ]...) {
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("read tags of %s %s: %w", typ, id, err)
}

// listTagged lists every resource of a type in the region with its tags.
func listTagged(ctx context.Context, s *awsclient.Session, typ string) ([]rule.Target, error) {
	var out []rule.Target
	add := func(id string, tags map[string]string) {
		out = append(out, rule.Target{Type: typ, ID: id, Region: s.Region, State: resource{Type: typ, Tags: tags}})
	}
	switch typ {
	case TypeInstance:
		pages := ec2.NewDescribeInstancesPaginator(ec2Client(s), &ec2.DescribeInstancesInput{})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list instances: %w", err)
			}
			for _, r := range page.Reservations {
				for _, i := range r.Instances {
					if i.State != nil && i.State.Name == ec2types.InstanceStateNameTerminated {
						continue // gone for Config too
					}
					add(aws.ToString(i.InstanceId), tagmap.EC2(i.Tags))
				}
			}
		}
	case TypeVolume:
		pages := ec2.NewDescribeVolumesPaginator(ec2Client(s), &ec2.DescribeVolumesInput{})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list volumes: %w", err)
			}
			for _, v := range page.Volumes {
				add(aws.ToString(v.VolumeId), tagmap.EC2(v.Tags))
			}
		}
	case TypeSecurityGroup:
		pages := ec2.NewDescribeSecurityGroupsPaginator(ec2Client(s), &ec2.DescribeSecurityGroupsInput{})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list security groups: %w", err)
			}
			for _, g := range page.SecurityGroups {
				add(aws.ToString(g.GroupId), tagmap.EC2(g.Tags))
			}
		}
	case TypeBucket:
		names, err := s3bucket.List(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			tags, err := s3bucket.Tags(ctx, s, name)
			if awsclient.HasCode(err, "NoSuchBucket") {
				continue // deleted since the list
			}
			if err != nil {
				return nil, err
			}
			add(name, tags)
		}
	default:
		return nil, fmt.Errorf("required-tags cannot list %s", typ)
	}
	return out, nil
}

// addEC2 adds the tags the resource still lacks. It re-reads the keys first
// (DescribeTags) because CreateTags overwrites: a key set since the
// evaluation is left as it is.
func addEC2(ctx context.Context, s *awsclient.Session, p tagParams) error {
	client := ec2Client(s)
	keys := make([]string, 0, len(p.Tags))
	for k := range p.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	cur, err := client.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{
		{Name: aws.String("resource-id"), Values: []string{p.ID}}, {Name: aws.String("key"), Values: keys}}})
	if err != nil {
		return fmt.Errorf("read tags of %s: %w", p.ID, err)
	}
	have := map[string]bool{}
	for _, t := range cur.Tags {
		have[aws.ToString(t.Key)] = true
	}
	var tags []ec2types.Tag
	for _, k := range keys {
		if !have[k] {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(p.Tags[k])})
		}
	}
	if len(tags) == 0 {
		return fmt.Errorf("tag %s: every key is already set: %w", p.ID, rule.ErrNoOp)
	}
	_, err = client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{p.ID}, Tags: tags})
	if awsclient.HasCode(err, notFound[p.Type]...) {
		return fmt.Errorf("tag %s: the resource is gone: %w", p.ID, rule.ErrNoOp)
	}
	if err != nil {
		return fmt.Errorf("tag %s: %w", p.ID, err)
	}
	return nil
}

// removeEC2 deletes the tags where they still hold the given values
// (DeleteTags with a value deletes only on a match).
func removeEC2(ctx context.Context, s *awsclient.Session, p tagParams) error {
	tags := make([]ec2types.Tag, 0, len(p.Tags))
	for k, v := range p.Tags {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := ec2Client(s).DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{p.ID}, Tags: tags})
	if awsclient.HasCode(err, notFound[p.Type]...) {
		return fmt.Errorf("untag %s: the resource is gone: %w", p.ID, rule.ErrNoOp)
	}
	if err != nil {
		return fmt.Errorf("untag %s: %w", p.ID, err)
	}
	return nil
}

// updateBucket adds (or with Remove, takes back) tags on a bucket. S3 has no
// per-key tagging call: PutBucketTagging replaces the whole set, so the set
// is read right before and merged.
func updateBucket(ctx context.Context, s *awsclient.Session, p tagParams) error {
	cur, err := s3bucket.Tags(ctx, s, p.ID)
	if awsclient.HasCode(err, "NoSuchBucket") {
		return fmt.Errorf("tag bucket %s: the bucket is gone: %w", p.ID, rule.ErrNoOp)
	}
	if err != nil {
		return err
	}
	changed := false
	for k, v := range p.Tags {
		old, ok := cur[k]
		switch {
		case p.Remove && ok && old == v:
			delete(cur, k)
			changed = true
		case !p.Remove && !ok:
			cur[k] = v
			changed = true
		}
	}
	if !changed {
		return fmt.Errorf("bucket %s tags: nothing to change: %w", p.ID, rule.ErrNoOp)
	}
	client := s3bucket.Client(s)
	if len(cur) == 0 {
		_, err = client.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(p.ID)})
	} else {
		set := make([]s3types.Tag, 0, len(cur))
		keys := make([]string, 0, len(cur))
		for k := range cur {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(cur[k])})
		}
		_, err = client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(p.ID), Tagging: &s3types.Tagging{TagSet: set}})
	}
	if awsclient.HasCode(err, "NoSuchBucket") {
		return fmt.Errorf("tag bucket %s: the bucket is gone: %w", p.ID, rule.ErrNoOp)
	}
	if err != nil {
		return fmt.Errorf("write tags of bucket %s: %w", p.ID, err)
	}
	return nil
}
