package cli

import "errors"

// ExportCmd is a placeholder until the command lands.
type ExportCmd struct{}

// Run reports that the command is not built yet.
func (c *ExportCmd) Run(g *Globals) error { return errors.New("export: not implemented yet") }
