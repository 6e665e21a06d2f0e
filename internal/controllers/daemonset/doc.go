// Package daemonset is the daemonset controller: it runs one pod of each
// DaemonSet on every node the pod may run on (nodeSelector, required node
// affinity, taints against tolerations), pinning each pod to its node
// with a required node affinity on metadata.name for the scheduler to
// bind, replaces pods of old template revisions within maxUnavailable,
// keeps ControllerRevisions as history and reports status, as upstream's
// pkg/controller/daemon.
package daemonset
