package cloudtrailintegrity

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/rampart-aws/rampart/internal/rule"
	"github.com/rampart-aws/rampart/internal/trailsel"
)

// baseline is the trail the deployment names. Empty fields are not judged;
// the universal ones (logging, management events, and multi-region with
// global service events and log-file validation unless switched off) always
// are.
type baseline struct {
	TrailName, Region       string
	Bucket, Prefix          string
	KMS, LogGroup, LogRole  string
	MultiRegion, Validation bool
}

// baselineOf parses the rule's parameters (already checked one by one) and
// checks them together.
func baselineOf(p rule.Params) (baseline, error) {
	b := baseline{TrailName: p[ParamTrailName], Region: p[ParamTrailRegion], Bucket: p[ParamBucket], Prefix: p[ParamPrefix],
		KMS: p[ParamKMS], LogGroup: p[ParamLogGroup], LogRole: p[ParamLogRole],
		MultiRegion: on(p, ParamMultiRegion), Validation: on(p, ParamValidation)}
	// CloudTrail takes the log group and its role together.
	if (b.LogGroup == "") != (b.LogRole == "") {
		return b, fmt.Errorf("cloudtrail-integrity: %s and %s go together: set both or neither", ParamLogGroup, ParamLogRole)
	}
	if b.Prefix != "" && b.Bucket == "" {
		return b, fmt.Errorf("cloudtrail-integrity: %s needs %s", ParamPrefix, ParamBucket)
	}
	return b, nil
}

// Parameter checks: typed, with ARNs parsed by aws/arn.

// Compiled on first use, not at every cold start: bounded repetitions
// compile into as many copies.
var (
	trailNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$`) })
	bucketPattern    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`) })
	regionPattern    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`) })
	keyIDPattern     = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	})
)

func checkBool(s string) error {
	_, err := strconv.ParseBool(s)
	return err
}

func on(p rule.Params, name string) bool {
	v, _ := strconv.ParseBool(p[name])
	return v
}

func optionalMatch(re func() *regexp.Regexp, what string) func(string) error {
	return func(s string) error {
		if s == "" || re().MatchString(s) {
			return nil
		}
		return fmt.Errorf("not %s", what)
	}
}

func checkPrefix(s string) error {
	if len(s) > 200 || strings.ContainsAny(s, "\\\x00") {
		return errors.New("not an S3 key prefix (at most 200 characters)")
	}
	return nil
}

// checkKMS accepts a key ARN or a key ID. An alias is refused: whoever can
// re-point the alias would choose the key, and the trail records the key
// ARN, against which an alias cannot be judged without another call.
func checkKMS(s string) error {
	if s == "" || keyIDPattern().MatchString(s) {
		return nil
	}
	a, err := arn.Parse(s)
	if err != nil || a.Service != "kms" || !strings.HasPrefix(a.Resource, "key/") {
		return errors.New("want a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>) or key ID; aliases are not accepted")
	}
	return nil
}

func checkLogGroup(s string) error {
	if s == "" {
		return nil
	}
	a, err := arn.Parse(s)
	if err != nil || a.Service != "logs" || !strings.HasPrefix(a.Resource, "log-group:") || len(a.Resource) <= len("log-group:") {
		return errors.New("want a CloudWatch Logs log group ARN (arn:<partition>:logs:<region>:<account>:log-group:<name>)")
	}
	return nil
}

func checkRole(s string) error {
	if s == "" {
		return nil
	}
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return errors.New("want an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)")
	}
	return nil
}

func normLogGroup(s string) string { return strings.TrimSuffix(s, ":*") }

// kmsMatches reports whether the trail's key (an ARN, as CloudTrail
// returns it) is the baseline's (an ARN, or a key ID: then a key of the
// trail's own account and region, as CloudTrail resolves it).
func kmsMatches(have, want, trailARN string) bool {
	if have == want {
		return true
	}
	a, err := arn.Parse(have)
	if err != nil || arn.IsARN(want) || a.Resource != "key/"+want {
		return false
	}
	t, err := arn.Parse(trailARN)
	return err != nil || (t.AccountID == a.AccountID && t.Region == a.Region)
}

// state is what the judgement needs of one trail.
type state struct {
	Name      string // for the actions: valid in the trail's home region
	Trail     cttypes.Trail
	Logging   bool
	Selectors trailsel.Selectors
}

// judge compares a trail with the whole baseline and plans what restores
// it: StartLogging, PutEventSelectors, then one UpdateTrail carrying every
// setting that differs, each with the exact previous state as its undo.
func judge(st state, b baseline) ([]string, []rule.Action) {
	var problems []string
	var acts []rule.Action
	name, tr := st.Name, st.Trail
	if !st.Logging {
		problems = append(problems, "logging is stopped")
		stop := rule.NewAction(apiStop, name, "stop logging again", nameParams{name}, nil)
		acts = append(acts, rule.NewAction(apiStart, name, "restart logging", nameParams{name}, &stop))
	}
	if gaps := trailsel.Gaps(st.Selectors); len(gaps) > 0 {
		problems = append(problems, gaps...)
		fix, err := trailsel.Restore(st.Selectors)
		if err != nil {
			acts = append(acts, rule.Alert(name, "the event selectors cannot be restored automatically: "+err.Error()))
		} else {
			back := rule.NewAction(apiSelectors, name, "put back the previous event selectors", selectorParams{Name: name, Selectors: st.Selectors}, nil)
			acts = append(acts, rule.NewAction(apiSelectors, name, "record all management events again, data selectors kept",
				selectorParams{Name: name, Selectors: fix}, &back))
		}
	}
	fix, undo := updateParams{Name: name}, updateParams{Name: name}
	var what []string
	if b.Bucket != "" {
		if have := aws.ToString(tr.S3BucketName); have != b.Bucket {
			problems = append(problems, fmt.Sprintf("logs go to bucket %q, not the baseline's %q", have, b.Bucket))
			fix.S3BucketName, undo.S3BucketName = aws.String(b.Bucket), aws.String(have)
			what = append(what, "bucket "+b.Bucket)
		}
		if have := aws.ToString(tr.S3KeyPrefix); have != b.Prefix {
			problems = append(problems, fmt.Sprintf("logs go under key prefix %q, not the baseline's %q", have, b.Prefix))
			fix.S3KeyPrefix, undo.S3KeyPrefix = aws.String(b.Prefix), aws.String(have)
			what = append(what, fmt.Sprintf("key prefix %q", b.Prefix))
		}
	}
	if have := aws.ToString(tr.KmsKeyId); b.KMS != "" && !kmsMatches(have, b.KMS, aws.ToString(tr.TrailARN)) {
		if have == "" {
			problems = append(problems, "logs are not KMS-encrypted")
		} else {
			problems = append(problems, fmt.Sprintf("logs are encrypted with %s, not the baseline's key %s", have, b.KMS))
		}
		fix.KMSKeyID, undo.KMSKeyID = aws.String(b.KMS), aws.String(have)
		what = append(what, "KMS key "+b.KMS)
	}
	if b.LogGroup != "" {
		group, role := aws.ToString(tr.CloudWatchLogsLogGroupArn), aws.ToString(tr.CloudWatchLogsRoleArn)
		if normLogGroup(group) != normLogGroup(b.LogGroup) || role != b.LogRole {
			if group == "" {
				problems = append(problems, "logs are not delivered to CloudWatch Logs")
			} else {
				problems = append(problems, fmt.Sprintf("logs are delivered to log group %s with role %s, not the baseline's %s with %s", group, role, b.LogGroup, b.LogRole))
			}
			// CloudTrail takes the group and the role together.
			fix.LogGroupARN, fix.LogRoleARN = aws.String(b.LogGroup), aws.String(b.LogRole)
			undo.LogGroupARN, undo.LogRoleARN = aws.String(group), aws.String(role)
			what = append(what, "CloudWatch Logs delivery to "+b.LogGroup)
		}
	}
	if multi, global := aws.ToBool(tr.IsMultiRegionTrail), aws.ToBool(tr.IncludeGlobalServiceEvents); b.MultiRegion && (!multi || !global) {
		if !multi {
			problems = append(problems, "the trail records one region only")
		}
		if !global {
			problems = append(problems, "global service events (IAM, STS, CloudFront) are not recorded")
		}
		// AWS refuses a multi-region trail without global service events:
		// both are set in the one call (moto 5.2.1 accepts either alone).
		fix.IsMultiRegionTrail, fix.IncludeGlobalServiceEvents = aws.Bool(true), aws.Bool(true)
		undo.IsMultiRegionTrail, undo.IncludeGlobalServiceEvents = aws.Bool(multi), aws.Bool(global)
		what = append(what, "multi-region recording with global service events")
	}
	if b.Validation && !aws.ToBool(tr.LogFileValidationEnabled) {
		problems = append(problems, "log-file validation is off")
		fix.EnableLogFileValidation, undo.EnableLogFileValidation = aws.Bool(true), aws.Bool(false)
		what = append(what, "log-file validation")
	}
	if len(what) > 0 {
		back := rule.NewAction(apiUpdate, name, "put back the previous settings", undo, nil)
		acts = append(acts, rule.NewAction(apiUpdate, name, "restore "+strings.Join(what, ", "), fix, &back))
	}
	return problems, acts
}

// ideal is the trail the baseline describes: what an offline judgement
// assumes of every field the event does not mention.
func ideal(name string, b baseline) cttypes.Trail {
	tr := cttypes.Trail{Name: aws.String(name), IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true),
		LogFileValidationEnabled: aws.Bool(true)}
	if b.Bucket != "" {
		tr.S3BucketName, tr.S3KeyPrefix = aws.String(b.Bucket), aws.String(b.Prefix)
	}
	if b.KMS != "" {
		tr.KmsKeyId = aws.String(b.KMS)
	}
	if b.LogGroup != "" {
		tr.CloudWatchLogsLogGroupArn, tr.CloudWatchLogsRoleArn = aws.String(b.LogGroup), aws.String(b.LogRole)
	}
	return tr
}

// recreate is the plan for a deleted baseline trail: CreateTrail with every
// baseline setting, the management-event selector made explicit, logging on.
func recreate(name string, b baseline) []rule.Action {
	c := createParams{Name: name, Bucket: b.Bucket, Prefix: b.Prefix, MultiRegion: b.MultiRegion, GlobalEvents: true,
		Validation: b.Validation, KMSKeyID: b.KMS, LogGroupARN: b.LogGroup, LogRoleARN: b.LogRole}
	del := rule.NewAction(apiDelete, name, "delete the recreated trail", nameParams{name}, nil)
	sel, _ := trailsel.Restore(trailsel.Selectors{})
	stop := rule.NewAction(apiStop, name, "stop logging", nameParams{name}, nil)
	return []rule.Action{
		rule.NewAction(apiCreate, name, "recreate the baseline trail", c, &del),
		// No undo of its own: undoing the CreateTrail deletes the trail.
		rule.NewAction(apiSelectors, name, "record all management events", selectorParams{Name: name, Selectors: sel}, nil),
		rule.NewAction(apiStart, name, "start logging", nameParams{name}, &stop),
	}
}
