// Command kplane is a Kubernetes-compatible control plane in one binary.
package main

import (
	"os"

	"kplane/internal/cli"
)

func main() {
	if err := cli.NewRoot().Execute(); err != nil {
		os.Exit(1)
	}
}
