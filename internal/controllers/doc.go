// Package controllers holds what every kplane controller shares: the
// Context a controller is built from (client, shared informers, logger,
// metrics, clock), the Controller interface the manager runs, and
// Prometheus metrics for client-go work queues under upstream's names.
// Each controller lives in its own subpackage; the manager (subpackage
// manager) runs them under leader election.
package controllers
