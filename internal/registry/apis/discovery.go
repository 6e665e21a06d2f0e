package apis

import (
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// Limits upstream puts on an EndpointSlice.
const (
	maxSliceEndpoints         = 1000
	maxEndpointAddresses      = 100
	maxSlicePorts             = 20000
	maxEndpointTopologyLabels = 16
	maxEndpointZoneHints      = 8
	maxEndpointNodeHints      = 8
)

func endpointSliceStrategy() strategy.Funcs {
	return hooks[*discoveryv1.EndpointSlice]{
		defaults: func(s *discoveryv1.EndpointSlice) {
			for i := range s.Ports {
				if s.Ports[i].Name == nil {
					s.Ports[i].Name = ptrTo("")
				}
				if s.Ports[i].Protocol == nil {
					s.Ports[i].Protocol = ptrTo(corev1.ProtocolTCP)
				}
			}
		},
		prepareForUpdate: func(s, old *discoveryv1.EndpointSlice) {
			// EndpointSlices have no spec: any change outside metadata, or to
			// the labels, is a new generation.
			a, b := *s, *old
			a.ObjectMeta, b.ObjectMeta = s.ObjectMeta, s.ObjectMeta
			if !semanticEqual(a, b) || !semanticEqual(s.Labels, old.Labels) {
				s.Generation = old.Generation + 1
			}
		},
		validate: validateEndpointSlice,
		validateUpdate: func(s, old *discoveryv1.EndpointSlice) field.ErrorList {
			errs := validateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta, metadataPath)
			errs = append(errs, validateEndpointSlice(s)...)
			return append(errs, immutable(s.AddressType, old.AddressType, field.NewPath("addressType"))...)
		},
	}.funcs()
}

func validateEndpointSlice(s *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validateObjectMeta(&s.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
	ap := field.NewPath("addressType")
	switch s.AddressType {
	case "":
		errs = append(errs, field.Required(ap, ""))
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
	default:
		errs = append(errs, field.NotSupported(ap, s.AddressType, []string{string(discoveryv1.AddressTypeFQDN), string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6)}))
	}
	errs = append(errs, validateEndpoints(s.Endpoints, s.AddressType, field.NewPath("endpoints"))...)
	return append(errs, validateEndpointPorts(s.Ports, field.NewPath("ports"))...)
}

func validateEndpoints(eps []discoveryv1.Endpoint, addrType discoveryv1.AddressType, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(eps) > maxSliceEndpoints {
		errs = append(errs, field.TooMany(p, len(eps), maxSliceEndpoints))
	}
	for i, ep := range eps {
		ip := p.Index(i)
		addrPath := ip.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxEndpointAddresses {
			errs = append(errs, field.TooMany(addrPath, len(ep.Addresses), maxEndpointAddresses))
		}
		for k, addr := range ep.Addresses {
			// Unknown address types are reported on addressType already.
			switch addrType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				errs = append(errs, validateEndpointAddress(addr, addrType, addrPath.Index(k))...)
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, validation.IsFullyQualifiedDomainName(addrPath.Index(k), addr)...)
			}
		}
		if ep.NodeName != nil {
			for _, msg := range apivalidation.NameIsDNSSubdomain(*ep.NodeName, false) {
				errs = append(errs, field.Invalid(ip.Child("nodeName"), *ep.NodeName, msg))
			}
		}
		tp := ip.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxEndpointTopologyLabels {
			errs = append(errs, field.TooMany(tp, len(ep.DeprecatedTopology), maxEndpointTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, tp)...)
		if ep.Hostname != nil {
			for _, msg := range validation.IsDNS1123Label(*ep.Hostname) {
				errs = append(errs, field.Invalid(ip.Child("hostname"), *ep.Hostname, msg))
			}
		}
		if h := ep.Hints; h != nil {
			hp := ip.Child("hints")
			if len(h.ForZones) > maxEndpointZoneHints {
				errs = append(errs, field.TooMany(hp.Child("forZones"), len(h.ForZones), maxEndpointZoneHints))
			}
			if len(h.ForNodes) > maxEndpointNodeHints {
				errs = append(errs, field.TooMany(hp.Child("forNodes"), len(h.ForNodes), maxEndpointNodeHints))
			}
		}
	}
	return errs
}

// validateEndpointAddress checks the address format, its family and that it
// is usable as an endpoint (upstream's ValidateEndpointIP).
func validateEndpointAddress(addr string, addrType discoveryv1.AddressType, p *field.Path) field.ErrorList {
	if errs := validation.IsValidIPForLegacyField(p, addr, false, nil); len(errs) > 0 {
		return errs
	}
	var errs field.ErrorList
	ip := net.ParseIP(addr)
	if ip == nil {
		// Legacy forms such as leading zeros pass the format check above.
		return nil
	}
	isV4 := ip.To4() != nil
	if addrType == discoveryv1.AddressTypeIPv4 && !isV4 {
		errs = append(errs, field.Invalid(p, addr, "must be an IPv4 address"))
	}
	if addrType == discoveryv1.AddressTypeIPv6 && isV4 {
		errs = append(errs, field.Invalid(p, addr, "must be an IPv6 address"))
	}
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(p, addr, fmt.Sprintf("may not be unspecified (%v)", addr)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

func validateEndpointPorts(ports []discoveryv1.EndpointPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(ports) > maxSlicePorts {
		errs = append(errs, field.TooMany(p, len(ports), maxSlicePorts))
	}
	names := map[string]bool{}
	for i, port := range ports {
		ip := p.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			for _, msg := range validation.IsDNS1123Label(name) {
				errs = append(errs, field.Invalid(ip.Child("name"), name, msg))
			}
		}
		if names[name] {
			errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
		}
		names[name] = true
		switch {
		case port.Protocol == nil:
			errs = append(errs, field.Required(ip.Child("protocol"), ""))
		case *port.Protocol != corev1.ProtocolTCP && *port.Protocol != corev1.ProtocolUDP && *port.Protocol != corev1.ProtocolSCTP:
			errs = append(errs, field.NotSupported(ip.Child("protocol"), *port.Protocol, []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}))
		}
		if port.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*port.AppProtocol) {
				errs = append(errs, field.Invalid(ip.Child("appProtocol"), *port.AppProtocol, msg))
			}
		}
	}
	return errs
}
