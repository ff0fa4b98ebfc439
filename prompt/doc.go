// Package prompt provides the sources of MFA codes (terminal device, ykman,
// GUI dialogs, mfa_process) behind one function type. Nothing here writes to
// stdout, so prompts are safe inside credential_process.
package prompt
