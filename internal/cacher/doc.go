// Package cacher is the watch cache: one in-memory copy of a resource per
// API server, fed by one etcd watch, that serves lists and watches so that
// thousands of node watchers and controller relists do not each become an
// etcd request.
//
// A Cacher holds the current objects in a copy-on-write B-tree ordered by
// key (so paginated lists page through a stable snapshot and namespaces are
// key ranges), an index by selected fields (pods by spec.nodeName), and a
// window of recent events (bounded by count and by age) from which a watch
// can resume at any resourceVersion inside the window; older ones get 410
// Expired, as upstream. Events are dispatched to watchers through indexes
// (exact key, field value, namespace), so a pod update costs nothing for
// the watchers of other nodes. Each event carries a storage.Encoded that
// the API server fills once per content type and shares among watchers.
//
// Reads follow upstream's resourceVersion semantics: "0" is served from
// the cache as it is; "" (consistent) waits until the cache has seen etcd's
// current revision (read cheaply, with a progress request to move the
// cache's watch along) and falls back to etcd after a timeout; an exact
// resourceVersion is served from the cache when it is the cache's current
// revision or that of a held snapshot, and from etcd otherwise (a paginated
// list's continue pages likewise come from the snapshot its first page was
// cut from while it is held, else from etcd). Objects returned are shared
// with the cache and must not be modified.
//
// Writes use the cache too: Cached gives the registry the cache's copy of
// an object (with its revision and stored-bytes hash) for an update or
// delete to start from without reading etcd (see storage.Cached).
package cacher
