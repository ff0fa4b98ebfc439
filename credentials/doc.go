// Package credentials runs a plan: it reads the key source, calls STS for each
// step through the session cache and its lock, asks for MFA codes through an
// injected function, explains STS errors, and rotates stored keys.
package credentials
