package mototest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rampart-aws/rampart/internal/awsclient"
)

// Notification is one SNS message as an SQS subscriber receives it.
type Notification struct {
	Subject    string
	Message    string
	Attributes map[string]string
}

// Topic is an SNS topic in moto with an SQS queue subscribed to it, so a test
// can read back exactly what Rampart published.
type Topic struct {
	ARN      string
	queueURL string
	sqs      *sqs.Client
}

// NewTopic creates the topic and its subscribed queue in moto.
func NewTopic(t testing.TB, s *awsclient.Session, name string) *Topic {
	t.Helper()
	ctx := context.Background()
	topic, err := awsclient.Client(s, sns.NewFromConfig).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	q := awsclient.Client(s, sqs.NewFromConfig)
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	if _, err := awsclient.Client(s, sns.NewFromConfig).Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn,
		Protocol: aws.String("sqs"), Endpoint: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return &Topic{ARN: aws.ToString(topic.TopicArn), queueURL: aws.ToString(queue.QueueUrl), sqs: q}
}

// Received drains the queue: every notification published since the last call.
func (tp *Topic) Received(t testing.TB) []Notification {
	t.Helper()
	var out []Notification
	for {
		res, err := tp.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(tp.queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			var env struct {
				Subject           string
				Message           string
				MessageAttributes map[string]struct{ Value string }
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				t.Fatalf("SNS envelope: %v", err)
			}
			n := Notification{Subject: env.Subject, Message: env.Message, Attributes: map[string]string{}}
			for k, v := range env.MessageAttributes {
				n.Attributes[k] = v.Value
			}
			out = append(out, n)
			if _, err := tp.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(tp.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete message: %v", err)
			}
		}
	}
}
