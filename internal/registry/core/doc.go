// Package core holds the strategy hooks (defaulting, preparation, validation
// and field-selector attributes) of the core/v1 kinds kplane's API server
// stores. It re-implements the observable behaviour of upstream Kubernetes'
// pkg/apis/core/v1/defaults.go, pkg/apis/core/validation and
// pkg/registry/core/*/strategy.go on k8s.io/api typed objects, so that
// clients see the same defaults and the same 422 Invalid messages as from a
// real kube-apiserver. The helpers for pod specs and templates are exported
// because the apps and batch groups embed pod templates.
package core
