// Package endpoints keeps a core/v1 Endpoints object for every Service
// with a selector, listing the matching pods' addresses (ready ones in
// addresses, others in notReadyAddresses) and the ports their targetPorts
// resolve to, as upstream's endpoints controller (pkg/controller/endpoint)
// does. It also exports the pod helpers the endpointslice controller
// shares: which pods belong in endpoints, port resolution, readiness, and
// the last-change-trigger-time tracker.
package endpoints
