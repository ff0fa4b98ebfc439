// Package server runs the local credential servers that long-running children
// read from: an ECS container-credentials endpoint, an EC2 instance-metadata
// endpoint, and the proxy that fronts the latter on 169.254.169.254.
package server
