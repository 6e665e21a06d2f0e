package apiserver

import (
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/registry"
)

// discoveryDocs are built once at start-up; the served set never changes
// while the server runs.
type discoveryDocs struct {
	groups         map[string]*metav1.APIGroup
	groupList      *metav1.APIGroupList
	resourceLists  map[string]*metav1.APIResourceList // by "group/version"
	aggregatedAPI  *apidiscoveryv2.APIGroupDiscoveryList
	aggregatedAPIs *apidiscoveryv2.APIGroupDiscoveryList
}

// subresourceKinds says which kind each subresource accepts and returns.
func subresourceInfo(res *registry.Resource, sub string) (schema.GroupVersionKind, []string) {
	switch sub {
	case "status":
		return res.GVK(), []string{"get", "patch", "update"}
	case "scale":
		return schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, []string{"get", "patch", "update"}
	case "binding":
		return schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, []string{"create"}
	case "eviction":
		return schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}, []string{"create"}
	case "finalize":
		return res.GVK(), []string{"update"}
	case "token":
		return schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}, []string{"create"}
	}
	return res.GVK(), nil
}

func subresourcesOf(res *registry.Resource) []string {
	var out []string
	if res.HasStatus {
		out = append(out, "status")
	}
	if res.Scale {
		out = append(out, "scale")
	}
	return append(out, res.Subresources...)
}

func (s *Server) buildDiscovery() error {
	d := &discoveryDocs{groups: map[string]*metav1.APIGroup{}, resourceLists: map[string]*metav1.APIResourceList{}}
	byGV := map[string][]*registry.Resource{}
	var keys []string
	for k, sv := range s.resources {
		keys = append(keys, k)
		gv := sv.res.Group + "/" + sv.res.Version
		byGV[gv] = append(byGV[gv], sv.res)
	}
	sort.Strings(keys)
	for gv, list := range byGV {
		sort.Slice(list, func(i, j int) bool { return list[i].Resource < list[j].Resource })
		rl := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: strings.TrimPrefix(gv, "/")}
		for _, res := range list {
			rl.APIResources = append(rl.APIResources, metav1.APIResource{
				Name: res.Resource, SingularName: res.Singular, Namespaced: res.Namespaced, Kind: res.Kind,
				Verbs: res.ServedVerbs(), ShortNames: res.ShortNames, Categories: res.Categories,
			})
			for _, sub := range subresourcesOf(res) {
				gvk, verbs := subresourceInfo(res, sub)
				ar := metav1.APIResource{Name: res.Resource + "/" + sub, Namespaced: res.Namespaced, Kind: gvk.Kind, Verbs: verbs}
				if gvk.Group != res.Group || gvk.Version != res.Version {
					ar.Group, ar.Version = gvk.Group, gvk.Version
				}
				rl.APIResources = append(rl.APIResources, ar)
			}
		}
		d.resourceLists[gv] = rl
	}
	d.groupList = &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	d.aggregatedAPI = &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}}
	d.aggregatedAPIs = &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}}
	for _, g := range s.groups {
		versions := preferredOrder(g.versions)
		agg := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: g.name}}
		for _, v := range versions {
			agg.Versions = append(agg.Versions, s.aggregatedVersion(g.name, v, byGV[g.name+"/"+v]))
		}
		if g.name == "" {
			d.aggregatedAPI.Items = append(d.aggregatedAPI.Items, agg)
			continue
		}
		d.aggregatedAPIs.Items = append(d.aggregatedAPIs.Items, agg)
		ag := &metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: g.name}
		for _, v := range versions {
			ag.Versions = append(ag.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g.name + "/" + v, Version: v})
		}
		ag.PreferredVersion = ag.Versions[0]
		d.groups[g.name] = ag
		gl := *ag
		gl.TypeMeta = metav1.TypeMeta{}
		d.groupList.Groups = append(d.groupList.Groups, gl)
	}
	s.discovery = d
	return nil
}

// preferredOrder puts the newest stable version first (v2 before v1).
func preferredOrder(vs []string) []string {
	out := append([]string(nil), vs...)
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out
}

func (s *Server) aggregatedVersion(group, version string, list []*registry.Resource) apidiscoveryv2.APIVersionDiscovery {
	vd := apidiscoveryv2.APIVersionDiscovery{Version: version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
	for _, res := range list {
		scope := apidiscoveryv2.ScopeCluster
		if res.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		rd := apidiscoveryv2.APIResourceDiscovery{
			Resource: res.Resource, SingularResource: res.Singular, Scope: scope, Verbs: res.ServedVerbs(),
			ShortNames: res.ShortNames, Categories: res.Categories,
			ResponseKind: &metav1.GroupVersionKind{Group: group, Version: version, Kind: res.Kind},
		}
		for _, sub := range subresourcesOf(res) {
			gvk, verbs := subresourceInfo(res, sub)
			rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{
				Subresource: sub, Verbs: verbs,
				ResponseKind: &metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
			})
		}
		vd.Resources = append(vd.Resources, rd)
	}
	return vd
}

// wantsAggregated reports whether Accept asks for aggregated discovery v2.
func wantsAggregated(accept string) bool {
	for _, clause := range strings.Split(accept, ",") {
		c := strings.ReplaceAll(clause, " ", "")
		if strings.Contains(c, "as=APIGroupDiscoveryList") && strings.Contains(c, "g=apidiscovery.k8s.io") && strings.Contains(c, "v=v2") && !strings.Contains(c, "v=v2beta1") {
			return true
		}
	}
	return false
}

// serveDiscovery answers /api, /apis, /apis/<g> and the group versions.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, ri *RequestInfo) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{}, r.Method))
		return
	}
	t, ok := s.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		t, _ = s.negotiate(mediaJSON, false)
	}
	d := s.discovery
	switch {
	case ri.APIPrefix == "api" && ri.APIVersion == "":
		if wantsAggregated(r.Header.Get("Accept")) {
			s.writeAggregated(w, d.aggregatedAPI)
			return
		}
		host := r.Host
		s.writeObject(w, r, http.StatusOK, t, &metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: host}},
		})
	case ri.APIPrefix == "apis" && ri.APIGroup == "":
		if wantsAggregated(r.Header.Get("Accept")) {
			s.writeAggregated(w, d.aggregatedAPIs)
			return
		}
		s.writeObject(w, r, http.StatusOK, t, d.groupList)
	case ri.APIPrefix == "apis" && ri.APIVersion == "":
		g, ok := d.groups[ri.APIGroup]
		if !ok {
			s.writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, ""))
			return
		}
		s.writeObject(w, r, http.StatusOK, t, g)
	default:
		rl, ok := d.resourceLists[ri.APIGroup+"/"+ri.APIVersion]
		if !ok {
			s.writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, ""))
			return
		}
		s.writeObject(w, r, http.StatusOK, t, rl)
	}
}

func (s *Server) writeAggregated(w http.ResponseWriter, list *apidiscoveryv2.APIGroupDiscoveryList) {
	buf := s.buffers.Get()
	defer s.buffers.Put(buf)
	if err := s.jsonSerializer.Encode(list, buf); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
	w.Header().Set("Vary", "Accept")
	_, _ = w.Write(buf.Bytes())
}
