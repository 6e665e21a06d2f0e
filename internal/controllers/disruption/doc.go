// Package disruption is the disruption controller (upstream's
// pkg/controller/disruption): it keeps each PodDisruptionBudget's status —
// expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed,
// observedGeneration and the DisruptionAllowed condition — in step with
// the pods the budget selects and the scale of their controllers, so that
// the API server's eviction subresource can refuse evictions that would
// break the budget. It also drops entries of status.disruptedPods (pods
// the eviction API is deleting) once the pod is gone or after two minutes.
//
// Controllers are found through the pods' controller references for
// ReplicaSets (and the Deployments owning them), Deployments,
// StatefulSets and ReplicationControllers; a pod controlled by anything
// else, or by nothing, makes a percentage or maxUnavailable budget fail
// safe (no disruptions allowed, condition reason SyncFailed), as upstream.
package disruption
