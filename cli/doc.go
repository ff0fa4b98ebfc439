// Package cli holds rolevault's commands: one file per command plus global.go,
// which carries the flags and environment shared by all of them. Commands wire
// vault, prompt and server together and print; no AWS logic lives here.
package cli
