// Package registry knows every resource kplane serves: its names, scope,
// storage key and versions (Resource), and the generic rules of writes —
// server-set metadata, generateName, spec/status split, generation,
// preconditions, finalizers and graceful deletion, namespace lifecycle —
// around the per-kind hooks in registry/core and registry/apis (REST).
//
// Objects passed to and returned from REST are of the kind's storage
// version; the API server converts to and from served versions.
package registry
