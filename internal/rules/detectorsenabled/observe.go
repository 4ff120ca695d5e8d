package detectorsenabled

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/inspector2"
	i2types "github.com/aws/aws-sdk-go-v2/service/inspector2/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/rampart-aws/rampart/internal/awsclient"
	"github.com/rampart-aws/rampart/internal/rule"
)

// The narrow views of each service the rule reads and writes.

type guardDutyAPI interface {
	guardduty.ListDetectorsAPIClient
	GetDetector(context.Context, *guardduty.GetDetectorInput, ...func(*guardduty.Options)) (*guardduty.GetDetectorOutput, error)
	CreateDetector(context.Context, *guardduty.CreateDetectorInput, ...func(*guardduty.Options)) (*guardduty.CreateDetectorOutput, error)
	UpdateDetector(context.Context, *guardduty.UpdateDetectorInput, ...func(*guardduty.Options)) (*guardduty.UpdateDetectorOutput, error)
	DeleteDetector(context.Context, *guardduty.DeleteDetectorInput, ...func(*guardduty.Options)) (*guardduty.DeleteDetectorOutput, error)
}

type hubAPI interface {
	DescribeHub(context.Context, *securityhub.DescribeHubInput, ...func(*securityhub.Options)) (*securityhub.DescribeHubOutput, error)
	EnableSecurityHub(context.Context, *securityhub.EnableSecurityHubInput, ...func(*securityhub.Options)) (*securityhub.EnableSecurityHubOutput, error)
	DisableSecurityHub(context.Context, *securityhub.DisableSecurityHubInput, ...func(*securityhub.Options)) (*securityhub.DisableSecurityHubOutput, error)
}

type inspectorAPI interface {
	BatchGetAccountStatus(context.Context, *inspector2.BatchGetAccountStatusInput, ...func(*inspector2.Options)) (*inspector2.BatchGetAccountStatusOutput, error)
	Enable(context.Context, *inspector2.EnableInput, ...func(*inspector2.Options)) (*inspector2.EnableOutput, error)
	Disable(context.Context, *inspector2.DisableInput, ...func(*inspector2.Options)) (*inspector2.DisableOutput, error)
}

// DestinationAPI is what the rule calls of GuardDuty's publishing
// destinations.
type DestinationAPI interface {
	guardduty.ListPublishingDestinationsAPIClient
	DescribePublishingDestination(context.Context, *guardduty.DescribePublishingDestinationInput, ...func(*guardduty.Options)) (*guardduty.DescribePublishingDestinationOutput, error)
	CreatePublishingDestination(context.Context, *guardduty.CreatePublishingDestinationInput, ...func(*guardduty.Options)) (*guardduty.CreatePublishingDestinationOutput, error)
	DeletePublishingDestination(context.Context, *guardduty.DeletePublishingDestinationInput, ...func(*guardduty.Options)) (*guardduty.DeletePublishingDestinationOutput, error)
}

// destinationClient is the session's GuardDuty client for publishing
// destinations. moto 5.2.1 serves GuardDuty detectors but not their
// publishing destinations: the tests replace this seam (and only this one)
// with a fake; the detectors themselves run against moto.
var destinationClient = func(s *awsclient.Session) DestinationAPI {
	return awsclient.Client(s, guardduty.NewFromConfig)
}

// AnalyzerAPI is what the rule calls of IAM Access Analyzer.
type AnalyzerAPI interface {
	accessanalyzer.ListAnalyzersAPIClient
	CreateAnalyzer(context.Context, *accessanalyzer.CreateAnalyzerInput, ...func(*accessanalyzer.Options)) (*accessanalyzer.CreateAnalyzerOutput, error)
	DeleteAnalyzer(context.Context, *accessanalyzer.DeleteAnalyzerInput, ...func(*accessanalyzer.Options)) (*accessanalyzer.DeleteAnalyzerOutput, error)
}

// analyzerClient is the session's Access Analyzer client. moto 5.2.1 does
// not serve IAM Access Analyzer at all: the tests replace this seam (and
// only this one) with a fake; every other service runs against moto.
var analyzerClient = func(s *awsclient.Session) AnalyzerAPI {
	return awsclient.Client(s, accessanalyzer.NewFromConfig)
}

func inRegion(env rule.Env, region string) error {
	if region != "" && region != env.Session.Region {
		return fmt.Errorf("the service is judged in %s but this session is in %s", region, env.Session.Region)
	}
	return nil
}

// observe reads the current state of the target's service in the session's
// account and region.
func observe(ctx context.Context, env rule.Env, t rule.Target, p Params) (State, error) {
	if err := inRegion(env, t.Region); err != nil {
		return State{}, err
	}
	s := env.Session
	st := State{Account: s.Account}
	var err error
	switch t.ID {
	case GuardDuty:
		st.Detectors, err = detectors(ctx, awsclient.Client(s, guardduty.NewFromConfig))
		if err == nil && p.Destination != "" {
			for i := range st.Detectors {
				if st.Detectors[i].Destinations, err = destinations(ctx, destinationClient(s), st.Detectors[i].ID); err != nil {
					break
				}
			}
		}
	case SecurityHub:
		st.HubEnabled, err = hubEnabled(ctx, awsclient.Client(s, securityhub.NewFromConfig))
	case Inspector2:
		if !awsclient.ValidAccount(s.Account) {
			return st, fmt.Errorf("inspector2: the session's account is not known (%q)", s.Account)
		}
		st.Scans, err = scans(ctx, awsclient.Client(s, inspector2.NewFromConfig), s.Account)
	case AccessAnalyzer:
		st.Analyzers, err = analyzers(ctx, analyzerClient(s))
	default:
		return st, fmt.Errorf("detectors-enabled does not judge %q", t.ID)
	}
	return st, err
}

func detectors(ctx context.Context, c guardDutyAPI) ([]Detector, error) {
	ids, err := detectorIDs(ctx, c)
	if err != nil {
		return nil, err
	}
	var out []Detector
	for _, id := range ids {
		d, err := c.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
		if awsclient.HasCode(err, "BadRequestException", "ResourceNotFoundException") {
			continue // deleted between the list and the read
		}
		if err != nil {
			return nil, fmt.Errorf("guardduty:GetDetector %s: %w", id, err)
		}
		out = append(out, Detector{ID: id, Enabled: d.Status == gdtypes.DetectorStatusEnabled})
	}
	return out, nil
}

func detectorIDs(ctx context.Context, c guardDutyAPI) ([]string, error) {
	var ids []string
	pages := guardduty.NewListDetectorsPaginator(c, &guardduty.ListDetectorsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("guardduty:ListDetectors: %w", err)
		}
		ids = append(ids, page.DetectorIds...)
	}
	return ids, nil
}

// destinations are the ARNs a detector exports findings to.
func destinations(ctx context.Context, c DestinationAPI, detector string) ([]string, error) {
	ids, err := destinationIDs(ctx, c, detector)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Values(ids)), nil
}

// destinationIDs maps each publishing destination of the detector to its ARN.
func destinationIDs(ctx context.Context, c DestinationAPI, detector string) (map[string]string, error) {
	out := map[string]string{}
	pages := guardduty.NewListPublishingDestinationsPaginator(c, &guardduty.ListPublishingDestinationsInput{DetectorId: aws.String(detector)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", APIListDests, detector, err)
		}
		for _, d := range page.Destinations {
			id := aws.ToString(d.DestinationId)
			desc, err := c.DescribePublishingDestination(ctx, &guardduty.DescribePublishingDestinationInput{DetectorId: aws.String(detector), DestinationId: aws.String(id)})
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", APIDescribeDest, id, err)
			}
			if dp := desc.DestinationProperties; dp != nil {
				out[id] = aws.ToString(dp.DestinationArn)
			}
		}
	}
	return out, nil
}

// notSubscribed are the codes DescribeHub answers when the hub is off.
var notSubscribed = []string{"InvalidAccessException", "ResourceNotFoundException"}

func hubEnabled(ctx context.Context, c hubAPI) (bool, error) {
	_, err := c.DescribeHub(ctx, &securityhub.DescribeHubInput{})
	switch {
	case awsclient.HasCode(err, notSubscribed...):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("securityhub:DescribeHub: %w", err)
	}
	return true, nil
}

func scans(ctx context.Context, c inspectorAPI, account string) (map[string]string, error) {
	out, err := c.BatchGetAccountStatus(ctx, &inspector2.BatchGetAccountStatusInput{AccountIds: []string{account}})
	if err != nil {
		return nil, fmt.Errorf("inspector2:BatchGetAccountStatus: %w", err)
	}
	for _, f := range out.FailedAccounts {
		if aws.ToString(f.AccountId) == account {
			return nil, fmt.Errorf("inspector2:BatchGetAccountStatus %s: %s: %s", account, f.ErrorCode, aws.ToString(f.ErrorMessage))
		}
	}
	st := map[string]string{}
	for _, a := range out.Accounts {
		if aws.ToString(a.AccountId) != account || a.ResourceState == nil {
			continue
		}
		rs := a.ResourceState
		for rt, s := range map[string]*i2types.State{"EC2": rs.Ec2, "ECR": rs.Ecr, "LAMBDA": rs.Lambda, "LAMBDA_CODE": rs.LambdaCode, "CODE_REPOSITORY": rs.CodeRepository} {
			if s != nil {
				st[rt] = string(s.Status)
			}
		}
	}
	return st, nil
}

func analyzers(ctx context.Context, c AnalyzerAPI) ([]Analyzer, error) {
	var out []Analyzer
	pages := accessanalyzer.NewListAnalyzersPaginator(c, &accessanalyzer.ListAnalyzersInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("access-analyzer:ListAnalyzers: %w", err)
		}
		for _, a := range page.Analyzers {
			out = append(out, Analyzer{Name: aws.ToString(a.Name), Type: string(a.Type), Status: string(a.Status)})
		}
	}
	return out, nil
}

// sweep names every baseline service of the session's account and region;
// each is observed live.
func sweep(_ context.Context, env rule.Env, p Params) ([]rule.Target, error) {
	f := env.Facts()
	if !awsclient.ValidAccount(f.Account) {
		return nil, fmt.Errorf("sweep %s: the session's account is not known (%q)", meta.ID, f.Account)
	}
	var out []rule.Target
	for _, s := range Services {
		if p.InBaseline(s) {
			out = append(out, rule.Target{Type: targetType[s], ID: s, Region: f.Region})
		}
	}
	return out, nil
}

// --- apply ------------------------------------------------------------------

func noop(err error, what string) error {
	return fmt.Errorf("%s: %w", what, errors.Join(rule.ErrNoOp, err))
}

// apply makes one action of a plan, or its undo.
func apply(ctx context.Context, env rule.Env, a rule.Action) error {
	var p struct {
		Region string `json:"region"`
	}
	if err := a.Decode(&p); err != nil {
		return err
	}
	if err := inRegion(env, p.Region); err != nil {
		return fmt.Errorf("%s: %w", a.API, err)
	}
	s := env.Session
	svc, _, _ := strings.Cut(a.API, ":")
	var err error
	switch svc {
	case "guardduty":
		err = applyGuardDuty(ctx, awsclient.Client(s, guardduty.NewFromConfig), destinationClient(s), a)
	case "securityhub":
		err = applyHub(ctx, awsclient.Client(s, securityhub.NewFromConfig), a)
	case "inspector2":
		err = applyInspector(ctx, awsclient.Client(s, inspector2.NewFromConfig), a)
	case "access-analyzer":
		err = applyAnalyzer(ctx, analyzerClient(s), a)
	default:
		return fmt.Errorf("detectors-enabled cannot apply %s", a.API)
	}
	if err != nil && !errors.Is(err, rule.ErrNoOp) {
		return fmt.Errorf("%s in %s: %w", a.API, s.Region, err)
	}
	return err
}

// theDetector is the region's one detector, for actions planned before
// it existed.
func theDetector(ctx context.Context, c guardDutyAPI) (string, error) {
	ids, err := detectorIDs(ctx, c)
	if err != nil {
		return "", err
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w: no detector in the region", rule.ErrNoOp)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%d detectors: name the one", len(ids))
}

func applyGuardDuty(ctx context.Context, c guardDutyAPI, dc DestinationAPI, a rule.Action) error {
	var p DetectorParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if (a.API == APICreateDest || a.API == APIDeleteDest || a.API == APIDeleteDetector) && p.DetectorID == "" {
		id, err := theDetector(ctx, c)
		if err != nil {
			return err
		}
		p.DetectorID = id
	}
	switch a.API {
	case APICreateDest, APIDeleteDest:
		if p.DestinationArn == "" || (a.API == APICreateDest && p.KmsKeyArn == "") {
			return fmt.Errorf("%s: params need destinationArn (and kmsKeyArn to create)", a.API)
		}
		ids, err := destinationIDs(ctx, dc, p.DetectorID)
		if err != nil {
			return err
		}
		var have string
		for id, arn := range ids {
			if arn == p.DestinationArn {
				have = id
			}
		}
		if a.API == APIDeleteDest {
			if have == "" {
				return fmt.Errorf("%w: detector %s exports nothing to %s", rule.ErrNoOp, p.DetectorID, p.DestinationArn)
			}
			_, err = dc.DeletePublishingDestination(ctx, &guardduty.DeletePublishingDestinationInput{DetectorId: aws.String(p.DetectorID), DestinationId: aws.String(have)})
			return err
		}
		if have != "" {
			return fmt.Errorf("%w: detector %s already exports to %s", rule.ErrNoOp, p.DetectorID, p.DestinationArn)
		}
		_, err = dc.CreatePublishingDestination(ctx, &guardduty.CreatePublishingDestinationInput{DetectorId: aws.String(p.DetectorID),
			DestinationType:       gdtypes.DestinationTypeS3,
			DestinationProperties: &gdtypes.DestinationProperties{DestinationArn: aws.String(p.DestinationArn), KmsKeyArn: aws.String(p.KmsKeyArn)}})
		return err
	case APICreateDetector:
		// A region has at most one detector per account: AWS refuses a
		// second, so a duplicate event finds it and does nothing.
		ids, err := detectorIDs(ctx, c)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			return fmt.Errorf("%w: detector %s exists", rule.ErrNoOp, ids[0])
		}
		_, err = c.CreateDetector(ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(true)})
		return err
	case APIUpdateDetector:
		if p.DetectorID == "" || p.Enable == nil {
			return fmt.Errorf("%s: params need detectorId and enable", a.API)
		}
		// Setting enable to what it is changes nothing: no read first.
		_, err := c.UpdateDetector(ctx, &guardduty.UpdateDetectorInput{DetectorId: aws.String(p.DetectorID), Enable: p.Enable})
		return err
	case APIDeleteDetector:
		// The undo of a re-creation: the detector's ID was not known when
		// the plan was made (resolved above: the region holds one at most).
		_, err := c.DeleteDetector(ctx, &guardduty.DeleteDetectorInput{DetectorId: aws.String(p.DetectorID)})
		return err
	}
	return fmt.Errorf("detectors-enabled cannot apply %s", a.API)
}

func applyHub(ctx context.Context, c hubAPI, a rule.Action) error {
	var p HubParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	switch a.API {
	case APIEnableHub:
		_, err := c.EnableSecurityHub(ctx, &securityhub.EnableSecurityHubInput{EnableDefaultStandards: p.EnableDefaultStandards})
		if awsclient.HasCode(err, "ResourceConflictException") {
			return noop(err, "already subscribed")
		}
		return err
	case APIDisableHub:
		_, err := c.DisableSecurityHub(ctx, &securityhub.DisableSecurityHubInput{})
		if awsclient.HasCode(err, notSubscribed...) {
			return noop(err, "not subscribed")
		}
		return err
	}
	return fmt.Errorf("detectors-enabled cannot apply %s", a.API)
}

func applyInspector(ctx context.Context, c inspectorAPI, a rule.Action) error {
	var p InspectorParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if len(p.AccountIDs) == 0 || len(p.ResourceTypes) == 0 {
		// Disable with no resource type switches every type off: never
		// send an empty list.
		return fmt.Errorf("%s: params need accountIds and resourceTypes", a.API)
	}
	var types []i2types.ResourceScanType
	for _, rt := range p.ResourceTypes {
		types = append(types, i2types.ResourceScanType(rt))
	}
	var failed []i2types.FailedAccount
	switch a.API {
	case APIInspectorOn:
		out, err := c.Enable(ctx, &inspector2.EnableInput{AccountIds: p.AccountIDs, ResourceTypes: types})
		if err != nil {
			return err
		}
		failed = out.FailedAccounts
	case APIInspectorOff:
		out, err := c.Disable(ctx, &inspector2.DisableInput{AccountIds: p.AccountIDs, ResourceTypes: types})
		if err != nil {
			return err
		}
		failed = out.FailedAccounts
	default:
		return fmt.Errorf("detectors-enabled cannot apply %s", a.API)
	}
	if len(failed) > 0 {
		var msgs []string
		for _, f := range failed {
			msgs = append(msgs, fmt.Sprintf("%s: %s %s", aws.ToString(f.AccountId), f.ErrorCode, aws.ToString(f.ErrorMessage)))
		}
		return fmt.Errorf("failed accounts: %s", strings.Join(msgs, "; "))
	}
	return nil
}

func applyAnalyzer(ctx context.Context, c AnalyzerAPI, a rule.Action) error {
	var p AnalyzerParams
	if err := a.Decode(&p); err != nil {
		return err
	}
	if p.Name == "" {
		return fmt.Errorf("%s: params need analyzerName", a.API)
	}
	switch a.API {
	case APICreateAnalyzer:
		if p.Type == "" {
			p.Type = string(aatypes.TypeAccount)
		}
		_, err := c.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String(p.Name), Type: aatypes.Type(p.Type)})
		if awsclient.HasCode(err, "ConflictException") {
			return noop(err, "analyzer "+p.Name+" exists")
		}
		return err
	case APIDeleteAnalyzer:
		_, err := c.DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String(p.Name)})
		if awsclient.HasCode(err, "ResourceNotFoundException") {
			return noop(err, "analyzer "+p.Name+" is gone")
		}
		return err
	}
	return fmt.Errorf("detectors-enabled cannot apply %s", a.API)
}
