package lambdatest

import (
	"encoding/json"
	"maps"
	"sort"
	"strings"

	"github.com/rampart-aws/rampart/internal/engine"
)

// LambdaEnv is the environment AWS Lambda sets for a provided.al2023
// function deployed as infra/ deploys it (name rampart-<function>, 128 MB,
// 60 s, JSON logs). The emulator adds AWS_LAMBDA_RUNTIME_API itself.
func LambdaEnv(function string) map[string]string {
	return map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "rampart-" + function,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "60",
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"AWS_LAMBDA_LOG_LEVEL":            "INFO",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/rampart-" + function,
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	}
}

// Deployment is a deployment's Rampart settings, as infra/ passes them to
// every function in its environment (engine.FromEnv reads them back).
type Deployment struct {
	Mode       engine.Mode
	RuleModes  map[string]engine.Mode
	Params     map[string]map[string]string
	OwnRoles   []string
	TopicARN   string
	ExemptTag  string
	Exemptions []engine.Exemption
	// Where the deployment acts (organization mode when OrgID is set).
	HomeRegion string
	Regions    []string
	OrgID      string
	MemberRole string
	SweepQueue string
}

// Env is the deployment as environment variables; unset settings are left
// out, as infra leaves them out.
func (d Deployment) Env() map[string]string {
	env := map[string]string{}
	if d.Mode != "" {
		env[engine.EnvMode] = string(d.Mode)
	}
	if len(d.RuleModes) > 0 {
		var pairs []string
		for id, m := range d.RuleModes {
			pairs = append(pairs, id+"="+string(m))
		}
		sort.Strings(pairs)
		env[engine.EnvRuleModes] = strings.Join(pairs, ",")
	}
	if len(d.Params) > 0 {
		b, _ := json.Marshal(d.Params)
		env[engine.EnvParams] = string(b)
	}
	if len(d.OwnRoles) > 0 {
		env[engine.EnvOwnRoles] = strings.Join(d.OwnRoles, ",")
	}
	if d.TopicARN != "" {
		env[engine.EnvTopicARN] = d.TopicARN
	}
	if d.ExemptTag != "" {
		env[engine.EnvExemptTag] = d.ExemptTag
	}
	if len(d.Exemptions) > 0 {
		b, _ := json.Marshal(d.Exemptions)
		env[engine.EnvExemptions] = string(b)
	}
	for k, v := range map[string]string{engine.EnvHomeRegion: d.HomeRegion, engine.EnvRegions: strings.Join(d.Regions, ","),
		engine.EnvOrgID: d.OrgID, engine.EnvMemberRole: d.MemberRole, engine.EnvSweepQueueURL: d.SweepQueue} {
		if v != "" {
			env[k] = v
		}
	}
	return env
}

// Merge is the union of environments, later ones winning.
func Merge(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		maps.Copy(out, e)
	}
	return out
}
