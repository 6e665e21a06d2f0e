// Package controlplane composes kplane's components in one process:
// certificates, embedded (or external) etcd and the API server, plus the
// admin kubeconfig. `kplane up`, `kplane apiserver` and integration tests
// all start clusters through it, so they run the same code.
package controlplane
