package cli

import "errors"

// RemoveCmd is a placeholder until the command lands.
type RemoveCmd struct{}

// Run reports that the command is not built yet.
func (c *RemoveCmd) Run(g *Globals) error { return errors.New("remove: not implemented yet") }
