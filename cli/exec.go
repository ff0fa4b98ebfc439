package cli

import "errors"

// ExecCmd is a placeholder until the command lands.
type ExecCmd struct{}

// Run reports that the command is not built yet.
func (c *ExecCmd) Run(g *Globals) error { return errors.New("exec: not implemented yet") }
