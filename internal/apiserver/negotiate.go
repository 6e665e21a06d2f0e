package apiserver

import (
	"mime"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

// Media types kplane speaks.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
	mediaCBOR     = "application/cbor"
)

// target is the negotiated response form.
type target struct {
	mediaType string
	// as is "Table", "PartialObjectMetadata" or "PartialObjectMetadataList"
	// when the client asked for a transformed response, with its version.
	as, asVersion string
	info          runtime.SerializerInfo
}

// negotiate picks the first Accept clause the server supports, like
// upstream's NegotiateOutputMediaType. ok is false when none fits (406).
func (s *Server) negotiate(accept string, allowTransform bool) (target, bool) {
	if strings.TrimSpace(accept) == "" {
		accept = "*/*"
	}
	for _, clause := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok && (q == "0" || q == "0.0" || q == "0.00" || q == "0.000") {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			mt = mediaJSON
		case "application/json;stream=watch":
			mt = mediaJSON
		}
		info, ok := s.serializerFor(mt)
		if !ok {
			continue
		}
		t := target{mediaType: mt, info: info}
		if as := params["as"]; as != "" {
			if !allowTransform || params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
				t.as, t.asVersion = as, params["v"]
			default:
				continue
			}
		}
		return t, true
	}
	return target{}, false
}

func (s *Server) serializerFor(mt string) (runtime.SerializerInfo, bool) {
	for _, info := range s.codecs.SupportedMediaTypes() {
		if info.MediaType == mt {
			return info, true
		}
	}
	return runtime.SerializerInfo{}, false
}

// supportedMediaTypes lists the media types in 406/415 messages.
func (s *Server) supportedMediaTypes() []string {
	var out []string
	for _, info := range s.codecs.SupportedMediaTypes() {
		out = append(out, info.MediaType)
	}
	return out
}
