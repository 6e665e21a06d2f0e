package core

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
)

// podQOS computes the QoS class the way upstream's qos.GetPodQOS does: from
// the cpu and memory requests and limits of all containers, or of the pod
// when pod-level resources are set.
func podQOS(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	isGuaranteed := true
	zero := resource.Quantity{}
	supported := func(n corev1.ResourceName) bool { return n == corev1.ResourceCPU || n == corev1.ResourceMemory }
	collect := func(r *corev1.ResourceRequirements) {
		for n, q := range r.Requests {
			if supported(n) && q.Cmp(zero) == 1 {
				cur := requests[n]
				cur.Add(q)
				requests[n] = cur
			}
		}
		found := sets.New[corev1.ResourceName]()
		for n, q := range r.Limits {
			if supported(n) && q.Cmp(zero) == 1 {
				found.Insert(n)
				cur := limits[n]
				cur.Add(q)
				limits[n] = cur
			}
		}
		if !found.HasAll(corev1.ResourceCPU, corev1.ResourceMemory) {
			isGuaranteed = false
		}
	}
	if pod.Spec.Resources != nil && (len(pod.Spec.Resources.Requests) > 0 || len(pod.Spec.Resources.Limits) > 0) {
		collect(pod.Spec.Resources)
	} else {
		for i := range pod.Spec.InitContainers {
			collect(&pod.Spec.InitContainers[i].Resources)
		}
		for i := range pod.Spec.Containers {
			collect(&pod.Spec.Containers[i].Resources)
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if isGuaranteed {
		for n, req := range requests {
			if lim, ok := limits[n]; !ok || lim.Cmp(req) != 0 {
				isGuaranteed = false
				break
			}
		}
	}
	if isGuaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// isDualStack reports whether ips holds at least one IPv4 and one IPv6
// address (all must parse).
func isDualStack(ips []string) bool {
	v4, v6 := false, false
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		if a.Is4() || a.Is4In6() {
			v4 = true
		} else {
			v6 = true
		}
	}
	return v4 && v6
}

// isDualStackCIDRs is isDualStack for CIDR strings.
func isDualStackCIDRs(cidrs []string) bool {
	ips := make([]string, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return false
		}
		ips = append(ips, p.Addr().String())
	}
	return isDualStack(ips)
}

func isIPv6String(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && !a.Is4In6()
}
