// Package pki owns the certificates and keys `kplane up` needs to serve the
// Kubernetes API over HTTPS with client-certificate authentication: a
// self-signed cluster CA, the API server's serving certificate, the
// cluster-admin client certificate, and the key pair that signs
// service-account tokens. It also writes kubeconfig files that embed them.
//
// Ensure is idempotent so that `kplane up` can call it on every start: it
// loads what is on disk and regenerates only what is missing or no longer
// fit for purpose (an expired leaf, a serving cert whose SANs do not cover
// the requested hosts). It never replaces an existing CA or service-account
// key, because that would invalidate every kubeconfig and token already
// handed out; a damaged CA is an error the operator must resolve.
//
// All keys are ECDSA P-256, written as SEC1 "EC PRIVATE KEY" PEM (what
// openssl, kubeadm and client-go all read), with mode 0600.
package pki
