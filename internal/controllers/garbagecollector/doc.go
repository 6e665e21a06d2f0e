// Package garbagecollector is kplane's garbage collector, the controller
// upstream runs as "garbagecollector" under the generic-garbage-collector
// service account. It keeps a graph of owners and dependents built from
// one informer per deletable resource (found through discovery and
// refreshed every 30 s) and acts on three kinds of deletion:
//
//   - background: once an owner is gone, dependents whose every owner is
//     gone (or whose references name a different UID) are deleted;
//   - foreground: an owner with the foregroundDeletion finalizer has its
//     dependents deleted first; the finalizer is removed when no dependent
//     with blockOwnerDeletion remains;
//   - orphan: an owner with the orphan finalizer has its ownerReferences
//     removed from every dependent, then the finalizer.
//
// Owners the graph has not observed ("virtual" owners) are always checked
// with a live GET before any dependent is deleted.
package garbagecollector
