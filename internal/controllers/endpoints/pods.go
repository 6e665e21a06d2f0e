package endpoints

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReadyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// ShouldPodBeInEndpoints reports whether the pod has an endpoint at all:
// not finished, with an IP, and (unless includeTerminating) not being
// deleted.
func ShouldPodBeInEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	if !includeTerminating && pod.DeletionTimestamp != nil {
		return false
	}
	return true
}

// ShouldSetHostname reports whether the endpoint gets the pod's hostname:
// the pod names the service as its subdomain.
func ShouldSetHostname(pod *corev1.Pod, svc *corev1.Service) bool {
	return pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && svc.Namespace == pod.Namespace
}

// FindPort resolves a service port's targetPort on the pod: a number is
// used as is, a name is looked up among the ports (of the same protocol)
// of the pod's containers and sidecar init containers.
func FindPort(pod *corev1.Pod, svcPort *corev1.ServicePort) (int, error) {
	tp := svcPort.TargetPort
	switch tp.Type {
	case intstr.Int:
		return tp.IntValue(), nil
	case intstr.String:
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == tp.StrVal && p.Protocol == svcPort.Protocol {
					return int(p.ContainerPort), nil
				}
			}
		}
		for _, c := range pod.Spec.InitContainers {
			if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				continue
			}
			for _, p := range c.Ports {
				if p.Name == tp.StrVal && p.Protocol == svcPort.Protocol {
					return int(p.ContainerPort), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no suitable port for manifest: %s", pod.UID)
}

// PodIPs returns the pod's IPs, falling back to status.podIP.
func PodIPs(pod *corev1.Pod) []string {
	if len(pod.Status.PodIPs) > 0 {
		out := make([]string, len(pod.Status.PodIPs))
		for i, ip := range pod.Status.PodIPs {
			out[i] = ip.IP
		}
		return out
	}
	if pod.Status.PodIP != "" {
		return []string{pod.Status.PodIP}
	}
	return nil
}

// IsIPv6 reports whether s is an IPv6 address.
func IsIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && !a.Is4In6()
}

// IsServiceIPSet reports whether the service has a cluster IP (is not
// headless).
func IsServiceIPSet(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != corev1.ClusterIPNone && svc.Spec.ClusterIP != ""
}

// ServiceIPFamily is the family endpoints of svc use: its first IP
// family, else its cluster IP's, else the pod's.
func ServiceIPFamily(svc *corev1.Service, pod *corev1.Pod) corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0]
	}
	if IsServiceIPSet(svc) {
		if IsIPv6(svc.Spec.ClusterIP) {
			return corev1.IPv6Protocol
		}
		return corev1.IPv4Protocol
	}
	if pod != nil && IsIPv6(pod.Status.PodIP) {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// PodIPOfFamily returns the pod's first IP of the family, or "".
func PodIPOfFamily(pod *corev1.Pod, family corev1.IPFamily) string {
	for _, ip := range PodIPs(pod) {
		if IsIPv6(ip) == (family == corev1.IPv6Protocol) {
			return ip
		}
	}
	return ""
}

// ServicesForPod returns the keys of the services in the pod's namespace
// whose selector matches it.
func ServicesForPod(lister corelisters.ServiceLister, pod *corev1.Pod) (sets.Set[string], error) {
	out := sets.New[string]()
	svcs, err := lister.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	set := labels.Set(pod.Labels)
	for _, s := range svcs {
		if s.Spec.Selector == nil {
			continue
		}
		if labels.SelectorFromValidatedSet(s.Spec.Selector).Matches(set) {
			out.Insert(s.Namespace + "/" + s.Name)
		}
	}
	return out, nil
}

// ServicesToUpdateOnPodChange returns the services whose endpoints a pod
// update may change: none when nothing endpoint-relevant changed, the
// pod's current services when its state changed, and the old ones too
// when its labels (membership) changed.
func ServicesToUpdateOnPodChange(lister corelisters.ServiceLister, old, cur *corev1.Pod) sets.Set[string] {
	if old.ResourceVersion == cur.ResourceVersion {
		return nil
	}
	changed, labelsChanged := podEndpointsChanged(old, cur)
	if !changed && !labelsChanged {
		return nil
	}
	svcs, err := ServicesForPod(lister, cur)
	if err != nil {
		return nil
	}
	if labelsChanged {
		if olds, err := ServicesForPod(lister, old); err == nil {
			if changed {
				svcs = svcs.Union(olds)
			} else {
				svcs = svcs.Difference(olds).Union(olds.Difference(svcs))
			}
		}
	}
	return svcs
}

func podEndpointsChanged(old, cur *corev1.Pod) (changed, labelsChanged bool) {
	labelsChanged = !apiequality.Semantic.DeepEqual(old.Labels, cur.Labels) ||
		old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain
	switch {
	case !old.DeletionTimestamp.Equal(cur.DeletionTimestamp),
		IsPodReady(old) != IsPodReady(cur),
		old.Status.Phase != cur.Status.Phase,
		old.Spec.NodeName != cur.Spec.NodeName,
		!apiequality.Semantic.DeepEqual(PodIPs(old), PodIPs(cur)):
		return true, labelsChanged
	}
	return false, labelsChanged
}

// PodFromDeleteEvent unwraps an informer delete notification.
func PodFromDeleteEvent(obj any) *corev1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, _ := obj.(*corev1.Pod)
	return p
}
