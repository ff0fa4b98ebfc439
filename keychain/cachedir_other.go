//go:build !unix

package keychain

import "os"

// unsafeDir has nothing to check where modes and owners are not Unix ones
// (Windows: the user profile's ACL protects the cache directory).
func unsafeDir(os.FileInfo) string { return "" }
