// Package storage keeps API objects in etcd the way upstream kube-apiserver
// does: keys /registry/<resource>/<namespace>/<name>, values in the protobuf
// Kubernetes envelope ("k8s\x00" + runtime.Unknown), and resourceVersion equal
// to the etcd mod revision. An upstream kube-apiserver can read our data and
// vice versa.
//
// The store offers compare-and-swap create/update/delete, paginated lists at
// a consistent revision, and watches that translate etcd events into
// Kubernetes watch events filtered by a predicate.
//
// Updates and deletes may start from a possibly stale copy of the object
// the caller already holds (Cached: the watch cache's object, revision and
// the xxHash64 of its stored bytes, which watch events and hashed lists
// carry) instead of reading etcd first, as upstream's cachedExistingObject:
// the write's compare on the mod revision catches a stale copy, and the
// Txn reads the key back in the same round trip to retry from it.
package storage
