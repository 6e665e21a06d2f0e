package core

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/registry/strategy"
)

// Strategies returns the hooks for every core/v1 kind this package covers,
// keyed by GroupKind{Group: "", Kind: ...}. A fresh map is returned on every
// call so callers may add to it.
func Strategies() map[schema.GroupKind]strategy.Funcs {
	return map[schema.GroupKind]strategy.Funcs{}
}
