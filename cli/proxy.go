package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/rolevault/rolevault/server"
)

// ProxyCmd fronts exec --ec2-server on the EC2 metadata address.
type ProxyCmd struct{}

// Help is shown under 'rolevault proxy --help'.
func (c *ProxyCmd) Help() string {
	return fmt.Sprintf(`Run with sudo, in its own terminal:

  sudo rolevault proxy

It listens on %s (the address EC2 instances read credentials from)
and forwards to the server 'rolevault exec --ec2-server' starts on %s,
for tools that cannot be pointed at another metadata endpoint. Most SDKs honour
AWS_EC2_METADATA_SERVICE_ENDPOINT, which exec --ec2-server sets, and need no
proxy. See docs/security.md.`, server.MetadataAddr, server.EC2ProxyTarget)
}

// Run serves until interrupted.
func (c *ProxyCmd) Run(g *Globals) error {
	ctx, stop := interruptContext()
	defer stop()
	fmt.Fprintf(g.streams.Err, "rolevault: forwarding %s to %s; Ctrl-C to stop\n", server.MetadataAddr, server.EC2ProxyTarget)
	err := server.RunProxy(ctx, server.MetadataAddr, server.EC2ProxyTarget)
	if err != nil && ctx.Err() == nil {
		if errors.Is(err, os.ErrPermission) || os.Geteuid() > 0 {
			return &hintedError{msg: fmt.Sprintf("proxy: %v", err), hint: "Binding port 80 of 169.254.169.254 needs root: run 'sudo rolevault proxy'.", err: err}
		}
		return err
	}
	return nil
}
