// Package job is the job controller: it runs a Job's pods until the
// requested number of completions succeed or the Job fails (backoffLimit,
// activeDeadlineSeconds), counting finished pods through the
// batch.kubernetes.io/job-tracking finalizer and
// status.uncountedTerminatedPods so that no pod is counted twice or lost
// when the garbage collector deletes it, as upstream's pkg/controller/job.
package job
