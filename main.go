// Command rolevault keeps AWS access keys in the operating system's keychain and
// hands out short-lived, MFA-backed role credentials. See README.md.
package main

import (
	"os"

	"github.com/rolevault/rolevault/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(cli.Main(os.Args[1:], version, cli.DefaultStreams()))
}
