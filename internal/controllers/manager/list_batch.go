package manager

import (
	"kplane/internal/controllers/cronjob"
	"kplane/internal/controllers/daemonset"
	"kplane/internal/controllers/job"
	"kplane/internal/controllers/statefulset"
	"kplane/internal/controllers/ttlafterfinished"
)

// batchControllers lists the job, ttl-after-finished, cronjob,
// daemonset and statefulset controllers (names, service accounts and default
// concurrency as upstream's --concurrent-*-syncs).
func batchControllers() []Entry {
	return []Entry{
		{Name: "job", ServiceAccount: "job-controller", Workers: 5, New: job.New},
		{Name: "daemonset", ServiceAccount: "daemon-set-controller", Workers: 2, New: daemonset.New},
		{Name: "statefulset", ServiceAccount: "statefulset-controller", Workers: 5, New: statefulset.New},
		{Name: "cronjob", ServiceAccount: "cronjob-controller", Workers: 5, New: cronjob.New},
		{Name: "ttl-after-finished", ServiceAccount: "ttl-after-finished-controller", Workers: 5, New: ttlafterfinished.New},
	}
}
