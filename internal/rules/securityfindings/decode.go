package securityfindings

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// GuardDuty's finding, as its EventBridge event carries it (the detail is
// the finding, GuardDuty's finding format with lower-camel keys).
type gdFinding struct {
	AccountID string   `json:"accountId"`
	Region    string   `json:"region"`
	ID        string   `json:"id"`
	ARN       string   `json:"arn"`
	Type      string   `json:"type"`
	Severity  *float64 `json:"severity"`
	Title     string   `json:"title"`
	Resource  struct {
		ResourceType     string `json:"resourceType"`
		AccessKeyDetails *struct {
			AccessKeyID string `json:"accessKeyId"`
			UserName    string `json:"userName"`
			UserType    string `json:"userType"`
		} `json:"accessKeyDetails"`
		InstanceDetails *struct {
			InstanceID   string  `json:"instanceId"`
			InstanceType string  `json:"instanceType"`
			Tags         []gdTag `json:"tags"`
		} `json:"instanceDetails"`
		S3BucketDetails []struct {
			Name string  `json:"name"`
			Tags []gdTag `json:"tags"`
		} `json:"s3BucketDetails"`
		LambdaDetails *struct {
			FunctionName string  `json:"functionName"`
			FunctionArn  string  `json:"functionArn"`
			Tags         []gdTag `json:"tags"`
		} `json:"lambdaDetails"`
		EksClusterDetails *struct {
			Name string  `json:"name"`
			Tags []gdTag `json:"tags"`
		} `json:"eksClusterDetails"`
		EcsClusterDetails *struct {
			Name string  `json:"name"`
			Tags []gdTag `json:"tags"`
		} `json:"ecsClusterDetails"`
		RdsDbInstanceDetails *struct {
			DBInstanceIdentifier string  `json:"dbInstanceIdentifier"`
			Tags                 []gdTag `json:"tags"`
		} `json:"rdsDbInstanceDetails"`
	} `json:"resource"`
	Service struct {
		Archived       bool   `json:"archived"`
		Count          int    `json:"count"`
		EventFirstSeen string `json:"eventFirstSeen"`
		EventLastSeen  string `json:"eventLastSeen"`
		AdditionalInfo struct {
			Sample bool `json:"sample"`
		} `json:"additionalInfo"`
		Action json.RawMessage `json:"action"`
	} `json:"service"`
}

type gdTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func gdTags(tags []gdTag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

// fromGuardDuty reads a "GuardDuty Finding" event's detail.
func fromGuardDuty(detail json.RawMessage) (finding, error) {
	var g gdFinding
	if err := json.Unmarshal(detail, &g); err != nil {
		return finding{}, err
	}
	switch {
	case g.ID == "" && g.ARN == "":
		return finding{}, errors.New("the finding has no id or arn")
	case g.Type == "":
		return finding{}, errors.New("the finding has no type")
	case g.Severity == nil:
		return finding{}, errors.New("the finding has no severity")
	case g.Resource.ResourceType == "":
		return finding{}, errors.New("the finding has no resource.resourceType")
	}
	f := finding{Service: "GuardDuty", ARN: g.ARN, Type: g.Type, Title: g.Title, Level: guardDutyLevel(*g.Severity),
		Score: formatScore(*g.Severity), Account: g.AccountID, Region: g.Region,
		Sample: g.Service.AdditionalInfo.Sample || strings.HasPrefix(g.Title, "[SAMPLE]"), Activity: gdAction(g.Service.Action)}
	if f.ARN == "" {
		f.ARN = g.ID
	}
	if g.Service.Archived {
		f.Closed = "archived"
	}
	if g.Service.EventFirstSeen != "" {
		f.Seen = "seen " + g.Service.EventFirstSeen
		if g.Service.EventLastSeen != "" && g.Service.EventLastSeen != g.Service.EventFirstSeen {
			f.Seen += " to " + g.Service.EventLastSeen
		}
		if g.Service.Count > 1 {
			f.Seen += fmt.Sprintf(", %d times", g.Service.Count)
		}
	}
	r := &f.Resource
	r.Kind = g.Resource.ResourceType
	res := g.Resource
	switch {
	case r.Kind == "Instance" && res.InstanceDetails != nil && res.InstanceDetails.InstanceID != "":
		d := res.InstanceDetails
		r.Type, r.ID, r.Tags = typeInstance, d.InstanceID, gdTags(d.Tags)
		r.Desc = "instance " + d.InstanceID
		if name := r.Tags["Name"]; name != "" {
			r.Desc += " (" + name + ")"
		}
	case r.Kind == "S3Bucket" && len(res.S3BucketDetails) > 0 && res.S3BucketDetails[0].Name != "":
		d := res.S3BucketDetails[0]
		r.Type, r.ID, r.Tags, r.Desc = typeBucket, d.Name, gdTags(d.Tags), "bucket "+d.Name
		if n := len(res.S3BucketDetails); n > 1 {
			r.Desc += fmt.Sprintf(" (and %d other buckets)", n-1)
		}
		if d := res.AccessKeyDetails; d != nil && d.UserName != "" {
			by := "by " + strings.TrimSpace(d.UserType+" "+d.UserName)
			if d.AccessKeyID != "" {
				by += " (access key " + d.AccessKeyID + ")"
			}
			f.Activity = strings.TrimPrefix(f.Activity+"; "+by, "; ")
		}
	case r.Kind == "Lambda" && res.LambdaDetails != nil && (res.LambdaDetails.FunctionArn != "" || res.LambdaDetails.FunctionName != ""):
		d := res.LambdaDetails
		r.Type, r.ID, r.Tags, r.Desc = typeFunction, d.FunctionArn, gdTags(d.Tags), "function "+d.FunctionName
		if r.ID == "" {
			r.ID = d.FunctionName
		}
	case res.AccessKeyDetails != nil && (r.Kind == "AccessKey" || r.Kind == "S3Object" || r.Kind == "S3Bucket"):
		d := res.AccessKeyDetails
		switch d.UserType {
		case "IAMUser":
			r.Type, r.ID, r.Desc = typeUser, d.UserName, "IAM user "+d.UserName
		case "AssumedRole":
			r.Type, r.ID, r.Desc = typeRole, d.UserName, "role "+d.UserName
		case "Root":
			r.Desc = "the root user"
		default:
			r.Desc = strings.TrimSpace(d.UserType + " " + d.UserName)
		}
		if d.AccessKeyID != "" {
			r.Desc += " (access key " + d.AccessKeyID + ")"
		}
	case res.EksClusterDetails != nil:
		r.Type, r.ID, r.Tags, r.Desc = "AWS::EKS::Cluster", res.EksClusterDetails.Name, gdTags(res.EksClusterDetails.Tags), "EKS cluster "+res.EksClusterDetails.Name
	case res.EcsClusterDetails != nil:
		r.Type, r.ID, r.Tags, r.Desc = "AWS::ECS::Cluster", res.EcsClusterDetails.Name, gdTags(res.EcsClusterDetails.Tags), "ECS cluster "+res.EcsClusterDetails.Name
	case res.RdsDbInstanceDetails != nil:
		d := res.RdsDbInstanceDetails
		r.Type, r.ID, r.Tags, r.Desc = "AWS::RDS::DBInstance", d.DBInstanceIdentifier, gdTags(d.Tags), "RDS instance "+d.DBInstanceIdentifier
	default:
		r.Desc = "a resource of type " + r.Kind
	}
	return f, nil
}

// gdAction summarises GuardDuty's service.action: what was seen, from where.
func gdAction(raw json.RawMessage) string {
	var a struct {
		ActionType string `json:"actionType"`
		API        *struct {
			API         string   `json:"api"`
			ServiceName string   `json:"serviceName"`
			ErrorCode   string   `json:"errorCode"`
			Remote      remoteIP `json:"remoteIpDetails"`
		} `json:"awsApiCallAction"`
		Network *struct {
			Direction string   `json:"connectionDirection"`
			Remote    remoteIP `json:"remoteIpDetails"`
			Local     struct {
				Port int `json:"port"`
			} `json:"localPortDetails"`
			RemotePort struct {
				Port int `json:"port"`
			} `json:"remotePortDetails"`
		} `json:"networkConnectionAction"`
		Probe *struct {
			Details []struct {
				Local struct {
					Port int `json:"port"`
				} `json:"localPortDetails"`
				Remote remoteIP `json:"remoteIpDetails"`
			} `json:"portProbeDetails"`
		} `json:"portProbeAction"`
		DNS *struct {
			Domain string `json:"domain"`
		} `json:"dnsRequestAction"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &a) != nil {
		return ""
	}
	switch {
	case a.API != nil:
		s := "API call " + strings.TrimSuffix(a.API.ServiceName, ".amazonaws.com") + ":" + a.API.API + a.API.Remote.from()
		if a.API.ErrorCode != "" {
			s += " (" + a.API.ErrorCode + ")"
		}
		return s
	case a.Network != nil:
		port := a.Network.Local.Port
		if strings.EqualFold(a.Network.Direction, "OUTBOUND") {
			port = a.Network.RemotePort.Port
		}
		return fmt.Sprintf("%s connection on port %d%s", strings.ToLower(a.Network.Direction), port, a.Network.Remote.from())
	case a.Probe != nil && len(a.Probe.Details) > 0:
		d := a.Probe.Details[0]
		return fmt.Sprintf("port probe on port %d%s", d.Local.Port, d.Remote.from())
	case a.DNS != nil:
		return "DNS query for " + a.DNS.Domain
	case a.ActionType != "":
		return strings.ToLower(strings.ReplaceAll(a.ActionType, "_", " "))
	}
	return ""
}

// remoteIP is GuardDuty's remoteIpDetails.
type remoteIP struct {
	IPv4    string `json:"ipAddressV4"`
	IPv6    string `json:"ipAddressV6"`
	Country struct {
		Name string `json:"countryName"`
	} `json:"country"`
	Org struct {
		AsnOrg string `json:"asnOrg"`
	} `json:"organization"`
}

func (r remoteIP) from() string {
	ip := r.IPv4
	if ip == "" {
		ip = r.IPv6
	}
	if ip == "" {
		return ""
	}
	var where []string
	for _, s := range []string{r.Org.AsnOrg, r.Country.Name} {
		if s != "" {
			where = append(where, s)
		}
	}
	if len(where) == 0 {
		return " from " + ip
	}
	return " from " + ip + " (" + strings.Join(where, ", ") + ")"
}

// Inspector's finding, as its EventBridge event carries it.
type inspFinding struct {
	AccountID      string   `json:"awsAccountId"`
	FindingArn     string   `json:"findingArn"`
	Type           string   `json:"type"`
	Title          string   `json:"title"`
	Severity       string   `json:"severity"`
	Status         string   `json:"status"`
	InspectorScore *float64 `json:"inspectorScore"`
	Exploit        string   `json:"exploitAvailable"`
	Fix            string   `json:"fixAvailable"`
	FirstObserved  string   `json:"firstObservedAt"`
	Vulnerability  *struct {
		ID       string `json:"vulnerabilityId"`
		Packages []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Fixed   string `json:"fixedInVersion"`
			Path    string `json:"filePath"`
		} `json:"vulnerablePackages"`
	} `json:"packageVulnerabilityDetails"`
	Resources []struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Region  string            `json:"region"`
		Tags    map[string]string `json:"tags"`
		Details struct {
			EC2 *struct {
				Type  string `json:"type"`
				VpcID string `json:"vpcId"`
			} `json:"awsEc2Instance"`
			Image *struct {
				RepositoryName string   `json:"repositoryName"`
				ImageTags      []string `json:"imageTags"`
				ImageHash      string   `json:"imageHash"`
			} `json:"awsEcrContainerImage"`
			Lambda *struct {
				FunctionName string `json:"functionName"`
			} `json:"awsLambdaFunction"`
		} `json:"details"`
	} `json:"resources"`
}

// fromInspector reads an "Inspector2 Finding" event's detail.
func fromInspector(detail json.RawMessage) (finding, error) {
	var in inspFinding
	if err := json.Unmarshal(detail, &in); err != nil {
		return finding{}, err
	}
	lvl, ok := parseLevel(in.Severity)
	untriaged := strings.EqualFold(in.Severity, "UNTRIAGED")
	switch {
	case in.FindingArn == "":
		return finding{}, errors.New("the finding has no findingArn")
	case !ok && !untriaged:
		return finding{}, fmt.Errorf("the finding's severity %q is not one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, UNTRIAGED", in.Severity)
	case len(in.Resources) == 0:
		return finding{}, errors.New("the finding names no resource")
	case untriaged:
		lvl = Medium // not yet rated by the vendor: counted as MEDIUM
	}
	f := finding{Service: "Inspector", ARN: in.FindingArn, Type: in.Type, Title: in.Title, Level: lvl, Account: in.AccountID}
	if in.InspectorScore != nil {
		f.Score = "score " + formatScore(*in.InspectorScore)
	}
	if untriaged {
		f.Score = "untriaged"
	}
	switch st := strings.ToUpper(in.Status); st {
	case "CLOSED", "SUPPRESSED":
		f.Closed = strings.ToLower(st)
	}
	if v := in.Vulnerability; v != nil && v.ID != "" {
		var pkgs []string
		for _, p := range v.Packages {
			s := p.Name + " " + p.Version
			if p.Fixed != "" {
				s += " (fixed in " + p.Fixed + ")"
			}
			pkgs = append(pkgs, s)
		}
		f.Activity = v.ID
		if len(pkgs) > 0 {
			f.Activity += " in " + strings.Join(pkgs, ", ")
		}
	}
	var notes []string
	if strings.EqualFold(in.Exploit, "YES") {
		notes = append(notes, "a known exploit exists")
	}
	if strings.EqualFold(in.Fix, "YES") {
		notes = append(notes, "a fix is available")
	}
	if len(notes) > 0 {
		if f.Activity != "" {
			f.Activity += "; "
		}
		f.Activity += strings.Join(notes, ", ")
	}
	if in.FirstObserved != "" {
		f.Seen = "first observed " + in.FirstObserved
	}
	res := in.Resources[0]
	f.Region = res.Region
	r := &f.Resource
	r.Kind, r.Tags = res.Type, res.Tags
	switch res.Type {
	case "AWS_EC2_INSTANCE":
		r.Type, r.ID, r.Desc = typeInstance, res.ID, "instance "+res.ID
		if name := res.Tags["Name"]; name != "" {
			r.Desc += " (" + name + ")"
		}
	case "AWS_LAMBDA_FUNCTION":
		r.Type, r.ID, r.Desc = typeFunction, res.ID, "function "+res.ID
		if d := res.Details.Lambda; d != nil && d.FunctionName != "" {
			r.Desc = "function " + d.FunctionName
		}
	case "AWS_ECR_CONTAINER_IMAGE":
		r.Type, r.ID, r.Desc = typeECR, res.ID, "image "+res.ID
		if d := res.Details.Image; d != nil && d.RepositoryName != "" {
			r.Desc = "image " + d.RepositoryName
			if len(d.ImageTags) > 0 {
				r.Desc += ":" + strings.Join(d.ImageTags, ",")
			}
			if d.ImageHash != "" {
				r.Desc += " (" + shortHash(d.ImageHash) + ")"
			}
		}
	case "AWS_ECR_REPOSITORY":
		r.Type, r.ID, r.Desc = typeECR, res.ID, "repository "+res.ID
	default:
		r.ID, r.Desc = res.ID, strings.TrimSpace(res.Type+" "+res.ID)
	}
	if n := len(in.Resources); n > 1 {
		r.Desc += fmt.Sprintf(" (and %d other resources)", n-1)
	}
	return f, nil
}

func shortHash(h string) string {
	if len(h) > len("sha256:")+12 {
		return h[:len("sha256:")+12] + "…"
	}
	return h
}
