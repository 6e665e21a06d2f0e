package endpointslice

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	corelisters "k8s.io/client-go/listers/core/v1"

	"kplane/internal/controllers/endpoints"
)

// group is the desired endpoints of one address type and port set.
type group struct {
	addressType discoveryv1.AddressType
	ports       []discoveryv1.EndpointPort
	endpoints   map[string]discoveryv1.Endpoint // by pod namespace/name
}

// groupKey identifies slices that can hold the same endpoints.
func groupKey(at discoveryv1.AddressType, ports []discoveryv1.EndpointPort) string {
	b, _ := json.Marshal(ports)
	return string(at) + "|" + string(b)
}

// addressTypes are the slice address types a service gets: its IP
// families, else its cluster IP's, else (legacy headless) both.
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	if len(svc.Spec.IPFamilies) > 0 {
		out := make([]discoveryv1.AddressType, 0, len(svc.Spec.IPFamilies))
		for _, f := range svc.Spec.IPFamilies {
			out = append(out, discoveryv1.AddressType(f))
		}
		return out
	}
	if endpoints.IsServiceIPSet(svc) {
		if endpoints.IsIPv6(svc.Spec.ClusterIP) {
			return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv6}
		}
		return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	}
	return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}
}

// desiredGroups computes the endpoints a service should have, grouped by
// address type and resolved ports.
func desiredGroups(svc *corev1.Service, pods []*corev1.Pod, nodes corelisters.NodeLister) map[string]*group {
	out := map[string]*group{}
	types := addressTypes(svc)
	for _, pod := range pods {
		if !endpoints.ShouldPodBeInEndpoints(pod, true) {
			continue
		}
		ports := podPorts(svc, pod)
		for _, at := range types {
			ip := endpoints.PodIPOfFamily(pod, corev1.IPFamily(at))
			if ip == "" {
				continue
			}
			k := groupKey(at, ports)
			g := out[k]
			if g == nil {
				g = &group{addressType: at, ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
				out[k] = g
			}
			g.endpoints[pod.Namespace+"/"+pod.Name] = podEndpoint(svc, pod, ip, nodes)
		}
	}
	return out
}

// podPorts resolves the service's ports on the pod, skipping ports the
// pod does not have.
func podPorts(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		num, err := endpoints.FindPort(pod, sp)
		if err != nil {
			continue
		}
		name, port, proto := sp.Name, int32(num), sp.Protocol
		out = append(out, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

func podEndpoint(svc *corev1.Service, pod *corev1.Pod, ip string, nodes corelisters.NodeLister) discoveryv1.Endpoint {
	serving := endpoints.IsPodReady(pod)
	terminating := pod.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		ep.NodeName = &n
		if node, err := nodes.Get(n); err == nil {
			if zone, ok := node.Labels[corev1.LabelTopologyZone]; ok {
				ep.Zone = &zone
			}
		}
	}
	if endpoints.ShouldSetHostname(pod, svc) {
		h := pod.Spec.Hostname
		ep.Hostname = &h
	}
	return ep
}

// endpointKey identifies an endpoint by its pod.
func endpointKey(ep *discoveryv1.Endpoint) string {
	if ep.TargetRef == nil {
		if len(ep.Addresses) > 0 {
			return "ip:" + ep.Addresses[0]
		}
		return ""
	}
	return ep.TargetRef.Namespace + "/" + ep.TargetRef.Name
}
