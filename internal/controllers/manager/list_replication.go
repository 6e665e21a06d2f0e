package manager

import "kplane/internal/controllers/replicaset"

// replicationControllers lists the replicationcontroller and replicaset
// controllers (one implementation; upstream's concurrent-*-syncs default
// is 5 for both).
func replicationControllers() []Entry {
	return []Entry{
		{Name: "replicationcontroller", ServiceAccount: "replication-controller", Workers: 5, New: replicaset.NewReplicationController},
		{Name: "replicaset", ServiceAccount: "replicaset-controller", Workers: 5, New: replicaset.New},
	}
}
