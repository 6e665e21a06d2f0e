package apiserver

import (
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kplane/internal/openapi"
)

// buildOpenAPI computes the OpenAPI documents once at start-up.
func (s *Server) buildOpenAPI() error {
	var list []openapi.Resource
	for _, sv := range s.resources {
		res := sv.res
		or := openapi.Resource{
			GVK: res.GVK(), ListKind: res.ListKind, Resource: res.Resource, Namespaced: res.Namespaced,
			Verbs: res.ServedVerbs(), Object: res.New(),
		}
		if l := res.NewList(); l != nil {
			or.List = l
		}
		for _, sub := range subresourcesOf(res) {
			gvk, verbs := subresourceInfo(res, sub)
			var obj runtime.Object
			switch sub {
			case "status", "finalize":
				obj = res.New()
			case "scale":
				obj = &autoscalingv1.Scale{}
			case "binding":
				obj = &corev1.Binding{}
			case "eviction":
				obj = &policyv1.Eviction{}
			case "token":
				obj = &authenticationv1.TokenRequest{}
			}
			or.Subresources = append(or.Subresources, openapi.Subresource{Name: sub, GVK: gvk, Verbs: verbs, Object: obj})
		}
		list = append(list, or)
	}
	spec, err := openapi.Build(list, openapi.Info{Title: "Kubernetes", Version: s.cfg.Version})
	if err != nil {
		return fmt.Errorf("build OpenAPI: %w", err)
	}
	s.openapi = spec.V2Handler()
	s.openapiV3 = spec.V3Handler()
	return nil
}
