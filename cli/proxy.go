package cli

import "errors"

// ProxyCmd is a placeholder until the command lands.
type ProxyCmd struct{}

// Run reports that the command is not built yet.
func (c *ProxyCmd) Run(g *Globals) error { return errors.New("proxy: not implemented yet") }
