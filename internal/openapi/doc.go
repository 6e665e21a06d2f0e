// Package openapi builds and serves the OpenAPI documents of kplane's API
// server: /openapi/v2 (JSON and gnostic protobuf) and /openapi/v3 (a
// discovery document plus one document per group-version).
//
// Unmodified kubectl depends on them: `apply` looks for the fieldValidation
// query parameter on a kind's PATCH operation in /openapi/v3 to decide that
// the server validates fields itself (otherwise it validates client-side
// against the /openapi/v2 protobuf), `explain` renders the v3 schemas, and
// client-side apply reads the x-kubernetes-patch-strategy and
// x-kubernetes-patch-merge-key extensions to compute strategic merge patches.
//
// The schemas are derived at start-up by reflection over the k8s.io/api Go
// types: descriptions come from each type's generated SwaggerDoc method,
// patch metadata from the patchStrategy/patchMergeKey struct tags, required
// fields from JSON tags without omitempty, and definition names from the Go
// package path (k8s.io/api/core/v1.Pod → io.k8s.api.core.v1.Pod), so the
// documents use upstream's names. Paths, operation IDs and parameters follow
// upstream's layout. Build encodes everything once; the handlers only serve
// cached bytes with ETags.
package openapi
