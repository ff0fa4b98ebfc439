// Package server runs the local credential servers long-running children read
// from: an ECS container-credentials endpoint (StartECS), an EC2 instance-metadata
// endpoint (StartEC2) and the proxy that fronts it on 169.254.169.254 (RunProxy).
package server
