package apiserver

import (
	"net/http"
	"strings"
)

// RequestInfo is what the URL and method say about a request.
type RequestInfo struct {
	IsResourceRequest bool
	Path              string
	Verb              string // get list watch create update patch delete deletecollection; or the lower-case method
	APIPrefix         string // "api" or "apis"
	APIGroup          string
	APIVersion        string
	Namespace         string
	Resource          string
	Subresource       string
	Name              string
	Parts             []string
}

// Scope is the metrics label for the request's scope.
func (ri *RequestInfo) Scope() string {
	switch {
	case !ri.IsResourceRequest:
		return ""
	case ri.Name != "":
		return "resource"
	case ri.Namespace != "":
		return "namespace"
	}
	return "cluster"
}

// parseRequestInfo follows upstream's RequestInfoFactory: /api/v1/... and
// /apis/<group>/<version>/..., optional namespaces/<ns>, legacy /watch/.
func parseRequestInfo(r *http.Request) *RequestInfo {
	ri := &RequestInfo{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	if len(parts) < 1 || (parts[0] != "api" && parts[0] != "apis") {
		return ri
	}
	ri.APIPrefix = parts[0]
	parts = parts[1:]
	if ri.APIPrefix == "apis" {
		if len(parts) < 1 {
			return ri
		}
		ri.APIGroup = parts[0]
		parts = parts[1:]
	}
	if len(parts) < 1 {
		return ri
	}
	ri.APIVersion = parts[0]
	parts = parts[1:]
	if len(parts) < 1 {
		return ri // discovery of a group version
	}
	ri.IsResourceRequest = true
	watchPath := false
	if parts[0] == "watch" {
		watchPath = true
		parts = parts[1:]
	}
	switch r.Method {
	case http.MethodPost:
		ri.Verb = "create"
	case http.MethodGet, http.MethodHead:
		ri.Verb = "get"
	case http.MethodPut:
		ri.Verb = "update"
	case http.MethodPatch:
		ri.Verb = "patch"
	case http.MethodDelete:
		ri.Verb = "delete"
	default:
		ri.Verb = strings.ToLower(r.Method)
	}
	// Upstream: namespaces/<ns>/<resource>/... addresses a namespaced
	// resource; namespaces/<ns>[/status|/finalize] the namespace itself,
	// with Namespace still set (RBAC in that namespace applies).
	if parts[0] == "namespaces" && len(parts) > 1 {
		ri.Namespace = parts[1]
		if len(parts) > 2 && parts[2] != "status" && parts[2] != "finalize" {
			parts = parts[2:]
		}
	}
	ri.Parts = parts
	ri.Resource = parts[0]
	if len(parts) >= 2 {
		ri.Name = parts[1]
	}
	if len(parts) >= 3 {
		ri.Subresource = parts[2]
	}
	return finishVerb(ri, r, watchPath)
}

func finishVerb(ri *RequestInfo, r *http.Request, watchPath bool) *RequestInfo {
	if ri.Name == "" && ri.Subresource == "" {
		switch ri.Verb {
		case "get":
			ri.Verb = "list"
		case "delete":
			ri.Verb = "deletecollection"
		}
	}
	if ri.Verb == "list" || ri.Verb == "get" {
		if watchPath || isTrue(r.URL.Query().Get("watch")) {
			ri.Verb = "watch"
		}
	}
	return ri
}

func isTrue(s string) bool { return s == "true" || s == "1" }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
