package e2e

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel SIGKILL the server if the test process
// dies without running its cleanups (a panic or a timeout), so crashed test
// runs do not leave kplane processes behind.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
