package engine

// CheckSession repeats the checks New makes against the session's account
// and partition, for a session that learnt them after New: a Lambda learns
// its account from its first invocation (lambdafn), so New could not yet
// check that every own role is in the deployment's account.
func (e *Engine) CheckSession() error { return checkOwnRoles(e.cfg.OwnRoles, e.session) }
