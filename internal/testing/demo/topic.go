package demo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// notification is one SNS message Rampart published, as the topic's SQS
// subscriber received it.
type notification struct {
	Rule, Subject, Message string
}

// topic is the deployment's SNS topic with an SQS queue subscribed, so the
// demo can show what Rampart published.
type topic struct {
	ARN   string
	queue string
	sqs   *sqs.Client
}

func newTopic(ctx context.Context, s *awsclient.Session, name string) (*topic, error) {
	t, err := awsclient.Client(s, sns.NewFromConfig).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("create topic %s: %w", name, err)
	}
	q := awsclient.Client(s, sqs.NewFromConfig)
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", name, err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	if _, err := awsclient.Client(s, sns.NewFromConfig).Subscribe(ctx, &sns.SubscribeInput{TopicArn: t.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}); err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", name, err)
	}
	return &topic{ARN: aws.ToString(t.TopicArn), queue: aws.ToString(queue.QueueUrl), sqs: q}, nil
}

// drain receives and deletes every message in the queue.
func (t *topic) drain(ctx context.Context) ([]notification, error) {
	var out []notification
	for {
		res, err := t.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(t.queue), MaxNumberOfMessages: 10})
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		if len(res.Messages) == 0 {
			return out, nil
		}
		for _, m := range res.Messages {
			var env struct {
				Subject, Message  string
				MessageAttributes map[string]struct{ Value string }
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				return nil, fmt.Errorf("SNS envelope: %w", err)
			}
			out = append(out, notification{Rule: env.MessageAttributes["rule"].Value, Subject: env.Subject, Message: env.Message})
			if _, err := t.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(t.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, fmt.Errorf("delete message: %w", err)
			}
		}
	}
}
