// Command kubectl is the upstream kubectl, built from the k8s.io/kubectl
// module for test machines that do not have kubectl on their PATH. It is
// its own module so kplane's go.mod does not carry kubectl's dependencies.
package main

import (
	"os"

	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	if err := cmd.NewDefaultKubectlCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
