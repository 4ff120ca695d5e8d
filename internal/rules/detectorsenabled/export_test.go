package detectorsenabled

import "github.com/rampart-aws/rampart/internal/awsclient"

// UseAnalyzer replaces the Access Analyzer client for the test's duration:
// moto 5.2.1 does not serve IAM Access Analyzer.
func UseAnalyzer(c AnalyzerAPI) (restore func()) {
	old := analyzerClient
	analyzerClient = func(*awsclient.Session) AnalyzerAPI { return c }
	return func() { analyzerClient = old }
}

// UseDestinations replaces the client of GuardDuty's publishing
// destinations for the test's duration: moto 5.2.1 does not serve them.
func UseDestinations(c DestinationAPI) (restore func()) {
	old := destinationClient
	destinationClient = func(*awsclient.Session) DestinationAPI { return c }
	return func() { destinationClient = old }
}
