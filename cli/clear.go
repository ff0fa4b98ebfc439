package cli

import "errors"

// ClearCmd is a placeholder until the command lands.
type ClearCmd struct{}

// Run reports that the command is not built yet.
func (c *ClearCmd) Run(g *Globals) error { return errors.New("clear: not implemented yet") }
