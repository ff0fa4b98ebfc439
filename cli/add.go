package cli

import "errors"

// AddCmd is a placeholder until the command lands.
type AddCmd struct{}

// Run reports that the command is not built yet.
func (c *AddCmd) Run(g *Globals) error { return errors.New("add: not implemented yet") }
