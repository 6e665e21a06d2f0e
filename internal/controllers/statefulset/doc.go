// Package statefulset is the statefulset controller: it runs a
// StatefulSet's pods under stable names <set>-<ordinal>, creating them in
// order and each only once its predecessor is Running and Ready
// (OrderedReady) or all at once (Parallel), removing the highest ordinals
// first on scale-down, replacing pods of an old template in reverse
// ordinal order above the partition, keeping ControllerRevisions and
// reporting status, as upstream's pkg/controller/statefulset. Volume claim
// templates are not provisioned.
package statefulset
