// Package replicaset owns the ReplicaSet and ReplicationController
// controllers: one implementation of upstream's ReplicaSetController,
// driving both kinds through a small kind adapter (a ReplicationController
// is handled as if it were an older API version of ReplicaSet, as upstream
// does). It creates and deletes pods to match spec.replicas with slow-start
// batches, tracks expectations so watch lag never causes double creation,
// adopts orphans and releases pods that stop matching through
// ownerReference patches, deletes the lowest-ranked pods first and writes
// the status subresource.
package replicaset
