package apis

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// maxIngressClassControllerLength bounds spec.controller of an IngressClass.
const maxIngressClassControllerLength = 250

var (
	invalidIngressPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidIngressPathSuffixes  = []string{"/..", "/."}
)

func ingressStrategy() strategy.Funcs {
	return hooks[*networkingv1.Ingress]{
		prepareForCreate: func(i *networkingv1.Ingress) { i.Status = networkingv1.IngressStatus{} },
		prepareForUpdate: func(i, old *networkingv1.Ingress) { i.Status = old.Status },
		validate: func(i *networkingv1.Ingress) field.ErrorList {
			errs := validateObjectMeta(&i.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			return append(errs, validateIngressSpec(&i.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: func(i, old *networkingv1.Ingress) field.ErrorList {
			errs := validateObjectMetaUpdate(&i.ObjectMeta, &old.ObjectMeta, metadataPath)
			return append(errs, validateIngressSpec(&i.Spec, field.NewPath("spec"))...)
		},
		validateStatusUpdate: func(i, old *networkingv1.Ingress) field.ErrorList {
			errs := validateObjectMetaUpdate(&i.ObjectMeta, &old.ObjectMeta, metadataPath)
			lp := field.NewPath("status", "loadBalancer", "ingress")
			for k, ing := range i.Status.LoadBalancer.Ingress {
				kp := lp.Index(k)
				if ing.IP != "" {
					errs = append(errs, validation.IsValidIPForLegacyField(kp.Child("ip"), ing.IP, false, nil)...)
				}
				if ing.Hostname != "" {
					for _, msg := range validation.IsDNS1123Subdomain(ing.Hostname) {
						errs = append(errs, field.Invalid(kp.Child("hostname"), ing.Hostname, msg))
					}
					if net.ParseIP(ing.Hostname) != nil {
						errs = append(errs, field.Invalid(kp.Child("hostname"), ing.Hostname, "must be a DNS name, not an IP address"))
					}
				}
			}
			return errs
		},
	}.funcs()
}

func validateIngressSpec(s *networkingv1.IngressSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.Rules) == 0 && s.DefaultBackend == nil {
		errs = append(errs, field.Invalid(p, s.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if s.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(s.DefaultBackend, p.Child("defaultBackend"))...)
	}
	for i, r := range s.Rules {
		rp := p.Child("rules").Index(i)
		if r.Host != "" {
			if net.ParseIP(r.Host) != nil {
				errs = append(errs, field.Invalid(rp.Child("host"), r.Host, "must be a DNS name, not an IP address"))
			}
			check := validation.IsDNS1123Subdomain
			if strings.Contains(r.Host, "*") {
				check = validation.IsWildcardDNS1123Subdomain
			}
			for _, msg := range check(r.Host) {
				errs = append(errs, field.Invalid(rp.Child("host"), r.Host, msg))
			}
		}
		if r.HTTP != nil {
			hp := rp.Child("http")
			if len(r.HTTP.Paths) == 0 {
				errs = append(errs, field.Required(hp.Child("paths"), ""))
			}
			for k := range r.HTTP.Paths {
				errs = append(errs, validateIngressPath(&r.HTTP.Paths[k], hp.Child("paths").Index(k))...)
			}
		}
	}
	for t, tls := range s.TLS {
		tp := p.Child("tls").Index(t)
		for i, host := range tls.Hosts {
			check := validation.IsDNS1123Subdomain
			if strings.Contains(host, "*") {
				check = validation.IsWildcardDNS1123Subdomain
			}
			for _, msg := range check(host) {
				errs = append(errs, field.Invalid(tp.Child("hosts").Index(i), host, msg))
			}
		}
		if tls.SecretName != "" {
			for _, msg := range apivalidation.NameIsDNSSubdomain(tls.SecretName, false) {
				errs = append(errs, field.Invalid(tp.Child("secretName"), tls.SecretName, msg))
			}
		}
	}
	if s.IngressClassName != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*s.IngressClassName, false) {
			errs = append(errs, field.Invalid(p.Child("ingressClassName"), *s.IngressClassName, msg))
		}
	}
	return errs
}

func validateIngressPath(hp *networkingv1.HTTPIngressPath, p *field.Path) field.ErrorList {
	if hp.PathType == nil {
		return field.ErrorList{field.Required(p.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	switch *hp.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(hp.Path, "/") {
			errs = append(errs, field.Invalid(p.Child("path"), hp.Path, "must be an absolute path"))
		}
		if hp.Path != "" {
			for _, seq := range invalidIngressPathSequences {
				if strings.Contains(hp.Path, seq) {
					errs = append(errs, field.Invalid(p.Child("path"), hp.Path, fmt.Sprintf("must not contain '%s'", seq)))
				}
			}
			for _, suffix := range invalidIngressPathSuffixes {
				if strings.HasSuffix(hp.Path, suffix) {
					errs = append(errs, field.Invalid(p.Child("path"), hp.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
				}
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if hp.Path != "" && !strings.HasPrefix(hp.Path, "/") {
			errs = append(errs, field.Invalid(p.Child("path"), hp.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("pathType"), *hp.PathType, []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypeImplementationSpecific), string(networkingv1.PathTypePrefix)}))
	}
	return append(errs, validateIngressBackend(&hp.Backend, p.Child("backend"))...)
}

func validateIngressBackend(b *networkingv1.IngressBackend, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(p, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		errs = append(errs, validateTypedRef(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, p.Child("resource"))...)
	case b.Service != nil:
		svc := b.Service
		if svc.Name == "" {
			errs = append(errs, field.Required(p.Child("service", "name"), ""))
		} else {
			for _, msg := range apivalidation.NameIsDNS1035Label(svc.Name, false) {
				errs = append(errs, field.Invalid(p.Child("service", "name"), svc.Name, msg))
			}
		}
		hasName, hasNumber := svc.Port.Name != "", svc.Port.Number != 0
		switch {
		case hasName && hasNumber:
			errs = append(errs, field.Invalid(p, "", "cannot set both port name & port number"))
		case hasName:
			for _, msg := range validation.IsValidPortName(svc.Port.Name) {
				errs = append(errs, field.Invalid(p.Child("service", "port", "name"), svc.Port.Name, msg))
			}
		case hasNumber:
			for _, msg := range validation.IsValidPortNum(int(svc.Port.Number)) {
				errs = append(errs, field.Invalid(p.Child("service", "port", "number"), svc.Port.Number, msg))
			}
		default:
			errs = append(errs, field.Required(p, "port name or number is required"))
		}
	default:
		errs = append(errs, field.Invalid(p, "", "resource or service backend is required"))
	}
	return errs
}

// validateTypedRef checks a typed local object reference (a resource
// backend or IngressClass parameters).
func validateTypedRef(apiGroup *string, kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if apiGroup != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*apiGroup) {
			errs = append(errs, field.Invalid(p.Child("apiGroup"), *apiGroup, msg))
		}
	}
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), "kind is required"))
	} else {
		for _, msg := range path.IsValidPathSegmentName(kind) {
			errs = append(errs, field.Invalid(p.Child("kind"), kind, msg))
		}
	}
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), "name is required"))
	} else {
		for _, msg := range path.IsValidPathSegmentName(name) {
			errs = append(errs, field.Invalid(p.Child("name"), name, msg))
		}
	}
	return errs
}

func ingressClassStrategy() strategy.Funcs {
	return hooks[*networkingv1.IngressClass]{
		defaults: func(c *networkingv1.IngressClass) {
			if c.Spec.Parameters != nil && c.Spec.Parameters.Scope == nil {
				c.Spec.Parameters.Scope = ptrTo(networkingv1.IngressClassParametersReferenceScopeCluster)
			}
		},
		validate: validateIngressClass,
		validateUpdate: func(c, old *networkingv1.IngressClass) field.ErrorList {
			errs := validateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, metadataPath)
			if c.Spec.Controller != old.Spec.Controller {
				errs = append(errs, field.Invalid(field.NewPath("spec", "controller"), c.Spec.Controller, apivalidation.FieldImmutableErrorMsg))
			}
			return append(errs, validateIngressClass(c)...)
		},
	}.funcs()
}

func validateIngressClass(c *networkingv1.IngressClass) field.ErrorList {
	errs := validateObjectMeta(&c.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, metadataPath)
	sp := field.NewPath("spec")
	if len(c.Spec.Controller) > maxIngressClassControllerLength {
		errs = append(errs, field.TooLong(sp.Child("controller"), c.Spec.Controller, maxIngressClassControllerLength))
	}
	errs = append(errs, validation.IsDomainPrefixedPath(sp.Child("controller"), c.Spec.Controller)...)
	params := c.Spec.Parameters
	if params == nil {
		return errs
	}
	pp := sp.Child("parameters")
	errs = append(errs, validateTypedRef(params.APIGroup, params.Kind, params.Name, pp)...)
	if params.Scope == nil {
		return append(errs, field.Required(pp.Child("scope"), ""))
	}
	switch *params.Scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if params.Namespace == nil {
			errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			for _, msg := range apivalidation.ValidateNamespaceName(*params.Namespace, false) {
				errs = append(errs, field.Invalid(pp.Child("namespace"), *params.Namespace, msg))
			}
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster:
		if params.Namespace != nil {
			errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(pp.Child("scope"), *params.Scope, []string{networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}))
	}
	return errs
}

func networkPolicyStrategy() strategy.Funcs {
	return hooks[*networkingv1.NetworkPolicy]{
		defaults: defaultNetworkPolicy,
		validate: func(n *networkingv1.NetworkPolicy) field.ErrorList {
			errs := validateObjectMeta(&n.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			return append(errs, validateNetworkPolicySpec(&n.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: func(n, old *networkingv1.NetworkPolicy) field.ErrorList {
			errs := validateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta, metadataPath)
			return append(errs, validateNetworkPolicySpec(&n.Spec, field.NewPath("spec"))...)
		},
	}.funcs()
}

// defaultNetworkPolicy mirrors SetDefaults_NetworkPolicy and
// SetDefaults_NetworkPolicyPort: a policy without policyTypes is an ingress
// policy, plus egress when it has egress rules; ports default to TCP.
func defaultNetworkPolicy(n *networkingv1.NetworkPolicy) {
	if len(n.Spec.PolicyTypes) == 0 {
		n.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(n.Spec.Egress) != 0 {
			n.Spec.PolicyTypes = append(n.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	defaultPorts := func(ports []networkingv1.NetworkPolicyPort) {
		for i := range ports {
			if ports[i].Protocol == nil {
				ports[i].Protocol = ptrTo(corev1.ProtocolTCP)
			}
		}
	}
	for i := range n.Spec.Ingress {
		defaultPorts(n.Spec.Ingress[i].Ports)
	}
	for i := range n.Spec.Egress {
		defaultPorts(n.Spec.Egress[i].Ports)
	}
}

func validateNetworkPolicySpec(s *networkingv1.NetworkPolicySpec, p *field.Path) field.ErrorList {
	errs := validateSelector(&s.PodSelector, p.Child("podSelector"))
	for i, in := range s.Ingress {
		ip := p.Child("ingress").Index(i)
		for k := range in.Ports {
			errs = append(errs, validateNetworkPolicyPort(&in.Ports[k], ip.Child("ports").Index(k))...)
		}
		for k := range in.From {
			errs = append(errs, validateNetworkPolicyPeer(&in.From[k], ip.Child("from").Index(k))...)
		}
	}
	for i, eg := range s.Egress {
		ep := p.Child("egress").Index(i)
		for k := range eg.Ports {
			errs = append(errs, validateNetworkPolicyPort(&eg.Ports[k], ep.Child("ports").Index(k))...)
		}
		for k := range eg.To {
			errs = append(errs, validateNetworkPolicyPeer(&eg.To[k], ep.Child("to").Index(k))...)
		}
	}
	if len(s.PolicyTypes) > 2 {
		return append(errs, field.Invalid(p.Child("policyTypes"), &s.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range s.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(p.Child("policyTypes").Index(i), t, []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}))
		}
	}
	return errs
}

func validateNetworkPolicyPort(port *networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil && *port.Protocol != corev1.ProtocolTCP && *port.Protocol != corev1.ProtocolUDP && *port.Protocol != corev1.ProtocolSCTP {
		errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(p.Child("endPort"), port.Port.IntVal, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

func validateNetworkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, validateSelector(peer.PodSelector, p.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, validateSelector(peer.NamespaceSelector, p.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, p.Child("ipBlock"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a peer"))
	} else if n > 1 && peer.IPBlock != nil {
		errs = append(errs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateIPBlock(b *networkingv1.IPBlock, p *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(p.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDRForLegacyField(p.Child("cidr"), b.CIDR, false, nil)
	_, cidr, err := net.ParseCIDR(b.CIDR)
	if err != nil {
		return errs
	}
	for i, ex := range b.Except {
		ep := p.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(ep, ex, false, nil)...)
		_, exNet, err := net.ParseCIDR(ex)
		if err != nil {
			continue
		}
		cidrLen, _ := cidr.Mask.Size()
		exLen, _ := exNet.Mask.Size()
		if !cidr.Contains(exNet.IP) || cidrLen >= exLen {
			errs = append(errs, field.Invalid(ep, ex, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
