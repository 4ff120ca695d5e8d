package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rampart-aws/rampart/internal/engine"
	"github.com/rampart-aws/rampart/internal/exemption"
	"github.com/rampart-aws/rampart/internal/rule"
)

// Context keys read from cdk.json (or `cdk synth -c key=value`). Each is
// documented in docs/deploy.md; keep the two in step.
const (
	ctxAccount          = "rampart:account"
	ctxRegions          = "rampart:regions"
	ctxMode             = "rampart:mode"
	ctxRuleModes        = "rampart:ruleModes"
	ctxParams           = "rampart:params"
	ctxOwnRoles         = "rampart:ownRoles"
	ctxNotificationMail = "rampart:notificationEmail"
	ctxExemptTag        = "rampart:exemptTag"
	ctxExemptions       = "rampart:exemptions"
	ctxExemptMaxDays    = "rampart:exemptionMaxDays"
	ctxLogRetentionDays = "rampart:logRetentionDays"
	ctxMemoryMB         = "rampart:memoryMB"
	ctxTimeoutSeconds   = "rampart:timeoutSeconds"
	ctxDistDir          = "rampart:distDir"
	// The trail's CloudWatch Logs log group: the CIS monitoring alarms (cis.go).
	ctxTrailLogGroup = "rampart:trailLogGroup"
	// Regions and organization (regions.go, organization.go).
	ctxHomeRegion     = "rampart:homeRegion"
	ctxEnabledRegions = "rampart:enabledRegions"
	ctxOrganization   = "rampart:organization"
)

// contextKeys lists every key, for the unknown-key check.
var contextKeys = []string{ctxAccount, ctxRegions, ctxMode, ctxRuleModes, ctxParams, ctxOwnRoles,
	ctxNotificationMail, ctxExemptTag, ctxExemptions, ctxExemptMaxDays, ctxLogRetentionDays, ctxMemoryMB, ctxTimeoutSeconds, ctxDistDir,
	ctxTrailLogGroup, ctxHomeRegion, ctxEnabledRegions, ctxOrganization}

// PlaceholderAccount is used when neither rampart:account nor
// CDK_DEFAULT_ACCOUNT is set, so that synth works without credentials. A
// deploy with it fails: the CLI refuses an account the credentials are not for.
const PlaceholderAccount = "123456789012"

// NoEmail as rampart:notificationEmail says explicitly that no e-mail
// subscription is wanted (the topic is subscribed to some other way);
// `make deploy` refuses an empty address.
const NoEmail = "none"

// Defaults.
const (
	defaultRegion           = "us-east-1"
	defaultLogRetentionDays = 365
	defaultMemoryMB         = 128
	defaultTimeoutSeconds   = 60
	defaultDistDir          = "dist"
)

// Settings are a deployment's choices, read from the CDK context.
type Settings struct {
	Account string
	// Regions are the covered regions, sorted: "rampart:regions" lists them,
	// or says "all" (the default) for EnabledRegions.
	Regions []string
	// RegionsAll records "rampart:regions": "all".
	RegionsAll bool
	// EnabledRegions are the regions enabled in the account, as the deploy
	// resolved them (rampart:enabledRegions); nil for an offline synth,
	// where "all" falls back on DefaultEnabledRegions.
	EnabledRegions []string
	// HomeRegion carries the global rules (Meta.Global, and CloudTrail
	// triggers of global services), the notifications topic and the alarm
	// relay; every other region forwards global-service events to it.
	HomeRegion string
	// Organization turns the deploy organization-wide (organization.go);
	// nil for a single account.
	Organization *Organization
	// Mode is the default mode (report or enforce); RuleModes overrides it
	// per rule ID.
	Mode      engine.Mode
	RuleModes map[string]engine.Mode
	// Params overrides rule parameters: rule ID → parameter → value.
	Params map[string]map[string]string
	// OwnRoles are full role ARNs, besides Rampart's own function roles,
	// whose calls never trigger Rampart (the loop guard matches exact ARNs).
	OwnRoles          []string
	NotificationEmail string
	ExemptTag         string
	Exemptions        []engine.Exemption
	LogRetentionDays  int
	// ExemptMaxDays bounds how far ahead a tag exemption's expiry may lie.
	ExemptMaxDays int
	// MemoryMB is the memory size per function name; absent means 128.
	MemoryMB       map[string]int
	TimeoutSeconds int
	// DistDir holds the built functions: DistDir/<function>/bootstrap.
	DistDir string
	// TrailLogGroup names the trail's CloudWatch Logs log group in the home
	// region: the stack adds the CIS monitoring filters and alarms to it,
	// and the cis-alarms rule keeps them (cis.go). Empty: neither.
	TrailLogGroup string
}

// ParseSettings reads the settings. get returns a context value (nil when
// unset); getenv reads the environment (CDK_DEFAULT_ACCOUNT/REGION).
// Values given on the command line arrive as strings and are parsed as JSON
// where the key wants a list, an object or a number.
func ParseSettings(get func(key string) any, getenv func(string) string) (Settings, error) {
	s := Settings{
		Mode:             engine.Report,
		ExemptTag:        engine.DefaultExemptTag,
		ExemptMaxDays:    exemption.DefaultMaxDays,
		LogRetentionDays: defaultLogRetentionDays,
		TimeoutSeconds:   defaultTimeoutSeconds,
		DistDir:          defaultDistDir,
	}
	var errs []string
	read := func(key string, into any) bool {
		v := get(key)
		if v == nil {
			return false
		}
		raw, isString := v.(string)
		var data []byte
		if _, wantString := into.(*string); isString && !wantString {
			data = []byte(raw)
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", key, err))
				return false
			}
			data = b
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", key, err))
			return false
		}
		return true
	}

	if !read(ctxAccount, &s.Account) || s.Account == "" {
		s.Account = getenv("CDK_DEFAULT_ACCOUNT")
	}
	if s.Account == "" {
		s.Account = PlaceholderAccount
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(s.Account) {
		errs = append(errs, fmt.Sprintf("%s: %q is not a 12-digit account ID", ctxAccount, s.Account))
	}

	errs = append(errs, s.parseRegions(get, read)...)

	var mode string
	if read(ctxMode, &mode) {
		m, err := engine.ParseMode(mode)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", ctxMode, err))
		}
		s.Mode = m
	}
	var ruleModes map[string]string
	if read(ctxRuleModes, &ruleModes) {
		s.RuleModes = map[string]engine.Mode{}
		for id, v := range ruleModes {
			m, err := engine.ParseMode(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %s: %v", ctxRuleModes, id, err))
			}
			s.RuleModes[id] = m
		}
	}
	read(ctxParams, &s.Params)
	read(ctxOwnRoles, &s.OwnRoles)
	for _, r := range s.OwnRoles {
		if err := checkRoleARN(r); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", ctxOwnRoles, err))
		}
	}
	errs = append(errs, s.parseOrganization(read)...)
	read(ctxNotificationMail, &s.NotificationEmail)
	if strings.EqualFold(s.NotificationEmail, NoEmail) {
		s.NotificationEmail = "" // said explicitly: no subscription (make deploy refuses an empty one)
	}
	if e := s.NotificationEmail; e != "" && !regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`).MatchString(e) {
		errs = append(errs, fmt.Sprintf("%s: %q is not an e-mail address", ctxNotificationMail, e))
	}
	if read(ctxExemptTag, &s.ExemptTag) && strings.TrimSpace(s.ExemptTag) == "" {
		errs = append(errs, fmt.Sprintf("%s: empty", ctxExemptTag))
	}
	if read(ctxExemptMaxDays, &s.ExemptMaxDays) && (s.ExemptMaxDays < 1 || s.ExemptMaxDays > 3650) {
		errs = append(errs, fmt.Sprintf("%s: %d is outside 1–3650", ctxExemptMaxDays, s.ExemptMaxDays))
	}
	read(ctxExemptions, &s.Exemptions)
	for i, e := range s.Exemptions {
		if err := e.Validate(); err != nil {
			errs = append(errs, fmt.Sprintf("%s[%d]: %v", ctxExemptions, i, err))
		}
	}
	if read(ctxLogRetentionDays, &s.LogRetentionDays) {
		if _, ok := retentionDays[s.LogRetentionDays]; !ok {
			errs = append(errs, fmt.Sprintf("%s: %d is not a CloudWatch Logs retention (one of %v)", ctxLogRetentionDays, s.LogRetentionDays, sortedKeys(retentionDays)))
		}
	}
	read(ctxMemoryMB, &s.MemoryMB)
	for fn, mb := range s.MemoryMB {
		if mb < 128 || mb > 10240 {
			errs = append(errs, fmt.Sprintf("%s: %s: %d MB is outside 128–10240", ctxMemoryMB, fn, mb))
		}
	}
	if read(ctxTimeoutSeconds, &s.TimeoutSeconds) && (s.TimeoutSeconds < 1 || s.TimeoutSeconds > 900) {
		errs = append(errs, fmt.Sprintf("%s: %d is outside 1–900", ctxTimeoutSeconds, s.TimeoutSeconds))
	}
	if read(ctxDistDir, &s.DistDir) && s.DistDir == "" {
		errs = append(errs, fmt.Sprintf("%s: empty", ctxDistDir))
	}
	if read(ctxTrailLogGroup, &s.TrailLogGroup) && s.TrailLogGroup != "" && !logGroupNameRE.MatchString(s.TrailLogGroup) {
		errs = append(errs, fmt.Sprintf("%s: %q is not a log group name (the name, not its ARN)", ctxTrailLogGroup, s.TrailLogGroup))
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return s, fmt.Errorf("settings in cdk.json context:\n  %s", strings.Join(errs, "\n  "))
	}
	return s, nil
}

// Check validates the settings against the rule catalog: a rule ID, a
// parameter or a function that does not exist is a typo, and a typo in a
// security control must fail the synth rather than deploy silently.
func (s *Settings) Check(rules []rule.Rule) error {
	byID := map[string]rule.Rule{}
	functions := map[string]bool{}
	for _, r := range rules {
		byID[r.Meta().ID] = r
		functions[r.Meta().Function] = true
	}
	var errs []string
	for id := range s.RuleModes {
		if byID[id] == nil {
			errs = append(errs, fmt.Sprintf("%s: no rule %q", ctxRuleModes, id))
		}
	}
	for id := range s.Params {
		if byID[id] == nil {
			errs = append(errs, fmt.Sprintf("%s: no rule %q", ctxParams, id))
		}
	}
	for _, r := range rules {
		if _, err := r.Meta().Resolve(s.Params[r.Meta().ID]); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", ctxParams, err))
		}
	}
	for i, e := range s.Exemptions {
		if e.Rule != "*" && byID[e.Rule] == nil {
			errs = append(errs, fmt.Sprintf("%s[%d]: no rule %q (use \"*\" for every rule)", ctxExemptions, i, e.Rule))
		}
	}
	for fn := range s.MemoryMB {
		if !functions[fn] {
			errs = append(errs, fmt.Sprintf("%s: no function %q", ctxMemoryMB, fn))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("settings in cdk.json context do not match the rule catalog:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// UnknownKeys are the "rampart:" context keys this app does not read.
func UnknownKeys(all map[string]any) []string {
	var out []string
	for k := range all {
		if strings.HasPrefix(k, "rampart:") && !slices.Contains(contextKeys, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// memoryFor is a function's memory size.
func (s *Settings) memoryFor(function string) int {
	if mb, ok := s.MemoryMB[function]; ok {
		return mb
	}
	return defaultMemoryMB
}

// functionEnv is the environment of one function (see internal/engine/config.go):
// only the settings that concern the function's own rules, so that one
// function's configuration changing does not redeploy the others, and the
// 4 KB Lambda environment budget goes further.
//
// extra are the deployment's regional and organization variables
// (regionEnv); they count against the same budget.
func (s *Settings) functionEnv(f *functionPlan, ownRoles []string, topicARN string, extra map[string]string) (map[string]string, error) {
	ids := f.ruleIDs()
	env := map[string]string{
		engine.EnvMode:      string(s.Mode),
		engine.EnvOwnRoles:  strings.Join(ownRoles, ","),
		engine.EnvTopicARN:  topicARN,
		engine.EnvExemptTag: s.ExemptTag,
	}
	maps.Copy(env, extra)
	if s.ExemptMaxDays != 0 {
		env[engine.EnvExemptMaxDays] = strconv.Itoa(s.ExemptMaxDays)
	}
	var modes []string
	for _, id := range sortedKeys(s.RuleModes) {
		if ids[id] {
			modes = append(modes, id+"="+string(s.RuleModes[id]))
		}
	}
	if len(modes) > 0 {
		env[engine.EnvRuleModes] = strings.Join(modes, ",")
	}
	params := map[string]map[string]string{}
	for id, p := range s.Params {
		if ids[id] && len(p) > 0 {
			params[id] = p
		}
	}
	if len(params) > 0 {
		b, err := json.Marshal(params) // map keys marshal sorted: a stable template
		if err != nil {
			return nil, err
		}
		env[engine.EnvParams] = string(b)
	}
	var ex []engine.Exemption
	for _, e := range s.Exemptions {
		if e.Rule == "*" || ids[e.Rule] {
			ex = append(ex, e)
		}
	}
	if len(ex) > 0 {
		b, err := json.Marshal(ex)
		if err != nil {
			return nil, err
		}
		env[engine.EnvExemptions] = string(b)
	}
	size := 0
	for k, v := range env {
		size += len(k) + len(v)
	}
	// Lambda caps the environment at 4 KB; the topic ARN is a token here,
	// so keep a margin for its resolved length.
	if size > 4096-300 {
		return nil, fmt.Errorf("function %s: environment of %d bytes leaves no room in Lambda's 4 KB limit (trim rampart:exemptions or rampart:params)", f.Name, size)
	}
	return env, nil
}

// configParams are the Config rule's input parameters: the declared
// defaults with the context's overrides, validated. Empty values are left
// out, as Config rejects blank input parameters; the engine then falls back
// on RAMPART_PARAMS and the defaults, which give the same value.
func (s *Settings) configParams(m *rule.Meta) (map[string]string, error) {
	p, err := m.Resolve(s.Params[m.ID])
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range p {
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
