//go:build !unix

package vault

const (
	oNoFollow = 0
	oNonBlock = 0
)

// syncDir does nothing where a directory cannot be opened for syncing
// (Windows); the rename itself still replaces the file in one step.
func syncDir(string) error { return nil }
