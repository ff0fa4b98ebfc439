package cli

import "errors"

// LoginCmd is a placeholder until the command lands.
type LoginCmd struct{}

// Run reports that the command is not built yet.
func (c *LoginCmd) Run(g *Globals) error { return errors.New("login: not implemented yet") }
