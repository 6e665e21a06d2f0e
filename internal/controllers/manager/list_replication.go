package manager

// replicationControllers lists the replicationcontroller and replicaset controllers.
func replicationControllers() []Entry {
	return nil
}
