// Package configpath holds no code: its tests drive the engine's AWS Config
// custom-rule path end to end against moto, with the security-group rules as
// the subject — every message type, batching of PutEvaluations, deleted and
// out-of-scope items, bad rule parameters, enforce mode and exemptions — and
// measure a scheduled sweep over 1,000 security groups (BenchmarkScheduledSweep).
//
// It is test-only and must not be imported.
package configpath
