package printers

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// networkingFor returns printers for networking.k8s.io.
func networkingFor(kind string) *Printer {
	switch kind {
	case "Ingress":
		return ingressPrinter()
	case "IngressClass":
		return ingressClassPrinter()
	case "NetworkPolicy":
		return networkPolicyPrinter()
	}
	return nil
}

func servicePrinter() *Printer {
	doc := corev1.ServiceSpec{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Type", "string", doc["type"]),
		col("Cluster-IP", "string", doc["clusterIP"]),
		col("External-IP", "string", doc["externalIPs"]),
		col("Port(s)", "string", doc["ports"]),
		ageColumn(),
		wide(col("Selector", "string", doc["selector"])),
	}
	return typed(cols, func(svc *corev1.Service, now time.Time) ([]interface{}, error) {
		clusterIP := none
		if len(svc.Spec.ClusterIPs) > 0 {
			clusterIP = svc.Spec.ClusterIPs[0]
		} else if svc.Spec.ClusterIP != "" {
			clusterIP = svc.Spec.ClusterIP
		}
		return []interface{}{
			svc.Name,
			string(svc.Spec.Type),
			clusterIP,
			serviceExternalIP(svc),
			orNone(servicePorts(svc.Spec.Ports)),
			age(svc.CreationTimestamp, now),
			labels.FormatLabels(svc.Spec.Selector),
		}, nil
	})
}

// loadBalancerAddresses returns the sorted unique IPs (or hostnames when an
// ingress point has no IP). The server prints wide output, so the list is
// never clipped.
func loadBalancerAddresses(ips, hostnames []string) string {
	set := map[string]struct{}{}
	for i := range ips {
		if ips[i] != "" {
			set[ips[i]] = struct{}{}
		} else if hostnames[i] != "" {
			set[hostnames[i]] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return none
	case corev1.ServiceTypeLoadBalancer:
		ingress := svc.Status.LoadBalancer.Ingress
		ips, hosts := make([]string, len(ingress)), make([]string, len(ingress))
		for i := range ingress {
			ips[i], hosts[i] = ingress[i].IP, ingress[i].Hostname
		}
		lbIPs := loadBalancerAddresses(ips, hosts)
		if len(svc.Spec.ExternalIPs) > 0 {
			var results []string
			if lbIPs != "" {
				results = append(results, strings.Split(lbIPs, ",")...)
			}
			results = append(results, svc.Spec.ExternalIPs...)
			return strings.Join(results, ",")
		}
		if lbIPs != "" {
			return lbIPs
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return unknown
}

func servicePorts(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i := range ports {
		p := &ports[i]
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

func endpointsPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Endpoints", "string", corev1.Endpoints{}.SwaggerDoc()["subsets"]),
		ageColumn(),
	}
	return typed(cols, func(ep *corev1.Endpoints, now time.Time) ([]interface{}, error) {
		return []interface{}{ep.Name, formatEndpoints(ep), age(ep.CreationTimestamp, now)}, nil
	})
}

// formatEndpoints lists up to three ip:port pairs (bare IPs for port-less
// headless subsets) and summarises the rest.
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return none
	}
	const max = 3
	var list []string
	more := false
	count := 0
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		if len(ss.Ports) == 0 {
			count += len(ss.Addresses)
			for j := range ss.Addresses {
				if len(list) == max {
					more = true
					break
				}
				list = append(list, ss.Addresses[j].IP)
			}
			continue
		}
		for p := range ss.Ports {
			count += len(ss.Addresses)
			for j := range ss.Addresses {
				if len(list) == max {
					more = true
					break
				}
				list = append(list, net.JoinHostPort(ss.Addresses[j].IP, strconv.Itoa(int(ss.Ports[p].Port))))
			}
		}
	}
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, count-max)
	}
	return ret
}

func endpointSlicePrinter() *Printer {
	doc := discoveryv1beta1.EndpointSlice{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("AddressType", "string", doc["addressType"]),
		col("Ports", "string", doc["ports"]),
		col("Endpoints", "string", doc["endpoints"]),
		ageColumn(),
	}
	return typed(cols, func(es *discoveryv1.EndpointSlice, now time.Time) ([]interface{}, error) {
		const max = 3
		var ports []string
		for _, p := range es.Ports {
			if len(ports) < max {
				s := "*"
				if p.Port != nil {
					s = strconv.Itoa(int(*p.Port))
				} else if p.Name != nil {
					s = *p.Name
				}
				ports = append(ports, s)
			}
		}
		var addrs []string
		count := 0
		for _, e := range es.Endpoints {
			for _, a := range e.Addresses {
				if len(addrs) < max {
					addrs = append(addrs, a)
				}
				count++
			}
		}
		return []interface{}{
			es.Name,
			string(es.AddressType),
			listWithMore(ports, len(es.Ports) > max, len(es.Ports), max),
			listWithMore(addrs, count > max, count, max),
			age(es.CreationTimestamp, now),
		}, nil
	})
}

func ingressPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
		col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
		col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
		col("Ports", "string", "Ports of TLS configurations that open"),
		ageColumn(),
	}
	return typed(cols, func(ing *networkingv1.Ingress, now time.Time) ([]interface{}, error) {
		className := none
		if ing.Spec.IngressClassName != nil {
			className = *ing.Spec.IngressClassName
		}
		lb := ing.Status.LoadBalancer.Ingress
		ips, hosts := make([]string, len(lb)), make([]string, len(lb))
		for i := range lb {
			ips[i], hosts[i] = lb[i].IP, lb[i].Hostname
		}
		ports := "80"
		if len(ing.Spec.TLS) != 0 {
			ports = "80, 443"
		}
		return []interface{}{ing.Name, className, ingressHosts(ing.Spec.Rules), loadBalancerAddresses(ips, hosts), ports, age(ing.CreationTimestamp, now)}, nil
	})
}

// ingressHosts lists up to three rule hosts ("*" when none are set).
func ingressHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var list []string
	more := false
	for _, r := range rules {
		if len(list) == max {
			more = true
		}
		if !more && r.Host != "" {
			list = append(list, r.Host)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, len(rules)-max)
	}
	return ret
}

func ingressClassPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Controller", "string", "Controller that is responsible for handling this class"),
		col("Parameters", "string", "A reference to a resource with additional parameters"),
		ageColumn(),
	}
	return typed(cols, func(ic *networkingv1.IngressClass, now time.Time) ([]interface{}, error) {
		params := none
		if p := ic.Spec.Parameters; p != nil {
			params = p.Kind
			if p.APIGroup != nil {
				params += "." + *p.APIGroup
			}
			params += "/" + p.Name
		}
		return []interface{}{ic.Name, ic.Spec.Controller, params, age(ic.CreationTimestamp, now)}, nil
	})
}

func networkPolicyPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Pod-Selector", "string", extensionsv1beta1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]),
		ageColumn(),
	}
	return typed(cols, func(np *networkingv1.NetworkPolicy, now time.Time) ([]interface{}, error) {
		return []interface{}{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), age(np.CreationTimestamp, now)}, nil
	})
}
