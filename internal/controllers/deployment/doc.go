// Package deployment is the deployment controller: it turns a Deployment
// into ReplicaSets named <deployment>-<pod-template-hash>, rolls pods from
// the old ReplicaSets to the new one (RollingUpdate within maxSurge and
// maxUnavailable, or Recreate), scales all active ReplicaSets
// proportionally when the Deployment is resized mid-rollout, keeps the
// revision annotations kubectl rollout history/undo read, deletes old
// ReplicaSets beyond revisionHistoryLimit, honours spec.paused, and
// reports progress through the Progressing and Available conditions.
//
// Behaviour, annotation names, condition reasons and event messages follow
// upstream kube-controller-manager v1.37 (pkg/controller/deployment); the
// code is kplane's own. Pods are never touched here: the replicaset
// controller creates and deletes them.
//
// Files: controller.go (informers, queue, sync entry point), claim.go
// (adoption and release of ReplicaSets), sync.go (new ReplicaSet,
// scaling, cleanup, status), rolling.go, recreate.go, rollback.go,
// progress.go (conditions and deadline requeue), util.go (hashing,
// fenceposts, annotations, conditions, sorting).
package deployment
