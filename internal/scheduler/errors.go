package scheduler

import "errors"

var (
	// errAlreadyInCache is returned when assuming a pod the cache has.
	errAlreadyInCache = errors.New("pod already in cache")
	// errNoNodes is returned when the cluster has no nodes at all.
	errNoNodes = errors.New("no nodes available to schedule pods")
)
