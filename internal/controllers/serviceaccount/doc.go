// Package serviceaccount ensures every active namespace has a "default"
// ServiceAccount, recreating it when deleted, as upstream's service
// account controller (pkg/controller/serviceaccount) does; pods that name
// no service account run as it. Tokens come from the TokenRequest API, so
// there is no legacy token-secret controller.
package serviceaccount
