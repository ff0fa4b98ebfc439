// Package config reads the AWS config and credentials files (~/.aws/config,
// ~/.aws/credentials) and resolves a profile the way the AWS CLI does, with
// errors that name file:line; it writes a section for add. No keyring, no STS.
package config
