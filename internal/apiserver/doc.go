// Package apiserver is kplane's HTTPS front end: request parsing, content
// negotiation (JSON, YAML, protobuf, Table), authentication, RBAC
// authorization, in-flight limits, discovery, OpenAPI, the verbs of every
// resource on top of package registry, watch streaming, metrics, and the
// one place where errors become metav1.Status responses.
package apiserver
