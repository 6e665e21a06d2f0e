// Package storage keeps API objects in etcd the way upstream kube-apiserver
// does: keys /registry/<resource>/<namespace>/<name>, values in the protobuf
// Kubernetes envelope ("k8s\x00" + runtime.Unknown), and resourceVersion equal
// to the etcd mod revision. An upstream kube-apiserver can read our data and
// vice versa.
//
// The store offers compare-and-swap create/update/delete, paginated lists at
// a consistent revision, and watches that translate etcd events into
// Kubernetes watch events filtered by a predicate.
package storage
