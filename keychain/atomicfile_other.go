//go:build !unix

package keychain

const (
	oNoFollow = 0
	oNonBlock = 0
)

// syncDir does nothing where a directory cannot be opened for syncing
// (Windows). os.Rename there replaces the target (MoveFileEx with
// MOVEFILE_REPLACE_EXISTING); if it fails, the target is left as it was.
func syncDir(string) error { return nil }
