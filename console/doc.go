// Package console builds AWS console sign-in: partitions and destinations,
// the federation endpoint's sign-in token, switch-role URLs, and the one-time
// local link that hands a sign-in URL to a browser without putting it in argv.
package console
