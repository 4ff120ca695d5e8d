// Package e2e holds the end-to-end tests: every function's real bootstrap,
// built as `make build` builds it, runs under the AWS Lambda Runtime
// Interface Emulator with the environment a deployed Lambda gets, against
// moto; the tests invoke it with real-shaped events (events/, IDs rewritten to
// seeded resources) and assert both the Lambda response and moto's state.
//
// The scenarios come from internal/testing/demo, so `make demo` shows what these tests
// prove. The package has no non-test code beyond this comment.
package e2e
