package manager

// batchControllers lists the job, ttl-after-finished, daemonset and statefulset controllers.
func batchControllers() []Entry {
	return nil
}
