package cli

import "syscall"

// detachAttr: the agent is not offered on Windows (agent.Supported is false).
func detachAttr() *syscall.SysProcAttr { return nil }

func umask(int) int { return 0 }
