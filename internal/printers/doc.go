// Package printers owns server-side Table printing: the columns and cell
// values `kubectl get` shows for each built-in kind.
//
// It mirrors the printers upstream kube-apiserver registers (the internal
// printers in kubernetes/kubernetes pkg/printers/internalversion), re-built
// against the versioned k8s.io/api types kplane stores. A Printer describes
// one kind: its column definitions (names, types, formats, priorities and
// descriptions exactly as upstream) and a Row function that turns one object
// into cells. The API server assembles metav1.Table itself (rows, object
// metadata, includeObject, resourceVersion and continue).
//
// Rows are always produced in the "wide" shape, as upstream's server does:
// every column, including priority-1 columns, has a cell, and kubectl hides
// the priority-1 columns unless asked for -o wide. Kinds upstream prints
// with its default convertor (Role, ClusterRole, LimitRange and any kind
// without a printer) get nil from For; callers then use Default, which
// prints NAME and CREATED AT.
//
// Everything is computed from the object and an injected "now", so output
// is deterministic in tests and no package state exists.
package printers
