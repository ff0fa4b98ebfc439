package cli

import "errors"

// RotateCmd is a placeholder until the command lands.
type RotateCmd struct{}

// Run reports that the command is not built yet.
func (c *RotateCmd) Run(g *Globals) error { return errors.New("rotate: not implemented yet") }
