package cli

import "errors"

// ExplainCmd is a placeholder until the command lands.
type ExplainCmd struct{}

// Run reports that the command is not built yet.
func (c *ExplainCmd) Run(g *Globals) error { return errors.New("explain: not implemented yet") }
