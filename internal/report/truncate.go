package report

import "unicode/utf8"

// Truncate shortens s to at most n bytes, cutting on a rune boundary and
// marking the cut with "...". SNS subjects, Config annotations and stored
// reasons have byte limits, and slicing bytes can split a rune into invalid
// UTF-8 (a resource name, a user name or a reason may be any script).
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 3 {
		n = 3
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
