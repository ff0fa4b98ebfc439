package cli

import "errors"

// ListCmd is a placeholder until the command lands.
type ListCmd struct{}

// Run reports that the command is not built yet.
func (c *ListCmd) Run(g *Globals) error { return errors.New("list: not implemented yet") }
