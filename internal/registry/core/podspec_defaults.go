package core

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DefaultPodSpec sets the defaults upstream applies to every pod spec,
// including the ones embedded in workload templates (SetDefaults_PodSpec,
// _Container, _Probe, _Volume and friends). Pod-only defaults (requests from
// limits, enableServiceLinks, host-network ports) live in the Pod strategy
// because upstream applies them to pods only.
func DefaultPodSpec(spec *corev1.PodSpec) {
	if spec == nil {
		return
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		period := int64(corev1.DefaultTerminationGracePeriodSeconds)
		spec.TerminationGracePeriodSeconds = &period
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	// The v1 API keeps the deprecated serviceAccount field in sync with
	// serviceAccountName; upstream does this in conversion.
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName

	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		defaultContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	if spec.Resources != nil {
		roundUpResourceList(spec.Resources.Limits)
		roundUpResourceList(spec.Resources.Requests)
	}
	roundUpResourceList(spec.Overhead)
}

// DefaultPodTemplateSpec defaults the spec of a pod template.
func DefaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	if t == nil {
		return
	}
	DefaultPodSpec(&t.Spec)
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		} else {
			c.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	if c.Lifecycle != nil {
		if c.Lifecycle.PostStart != nil {
			defaultHTTPGet(c.Lifecycle.PostStart.HTTPGet)
		}
		if c.Lifecycle.PreStop != nil {
			defaultHTTPGet(c.Lifecycle.PreStop.HTTPGet)
		}
	}
	roundUpResourceList(c.Resources.Limits)
	roundUpResourceList(c.Resources.Requests)
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func defaultVolume(v *corev1.Volume) {
	if isZeroVolumeSource(&v.VolumeSource) {
		v.VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	}
	mode := func(p **int32, def int32) {
		if *p == nil {
			m := def
			*p = &m
		}
	}
	switch {
	case v.Secret != nil:
		mode(&v.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	case v.ConfigMap != nil:
		mode(&v.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	case v.DownwardAPI != nil:
		mode(&v.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		for i := range v.DownwardAPI.Items {
			if fr := v.DownwardAPI.Items[i].FieldRef; fr != nil && fr.APIVersion == "" {
				fr.APIVersion = "v1"
			}
		}
	case v.Projected != nil:
		mode(&v.Projected.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
		for i := range v.Projected.Sources {
			src := &v.Projected.Sources[i]
			if src.ServiceAccountToken != nil && src.ServiceAccountToken.ExpirationSeconds == nil {
				hour := int64(3600)
				src.ServiceAccountToken.ExpirationSeconds = &hour
			}
			if src.DownwardAPI != nil {
				for j := range src.DownwardAPI.Items {
					if fr := src.DownwardAPI.Items[j].FieldRef; fr != nil && fr.APIVersion == "" {
						fr.APIVersion = "v1"
					}
				}
			}
		}
	case v.HostPath != nil:
		if v.HostPath.Type == nil {
			t := corev1.HostPathUnset
			v.HostPath.Type = &t
		}
	case v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil:
		if v.Ephemeral.VolumeClaimTemplate.Spec.VolumeMode == nil {
			m := corev1.PersistentVolumeFilesystem
			v.Ephemeral.VolumeClaimTemplate.Spec.VolumeMode = &m
		}
	case v.Image != nil:
		if v.Image.PullPolicy == "" {
			if imageTag(v.Image.Reference) == "latest" {
				v.Image.PullPolicy = corev1.PullAlways
			} else {
				v.Image.PullPolicy = corev1.PullIfNotPresent
			}
		}
	}
}

func isZeroVolumeSource(s *corev1.VolumeSource) bool {
	return s.HostPath == nil && s.EmptyDir == nil && s.GCEPersistentDisk == nil && s.AWSElasticBlockStore == nil &&
		s.GitRepo == nil && s.Secret == nil && s.NFS == nil && s.ISCSI == nil && s.Glusterfs == nil &&
		s.PersistentVolumeClaim == nil && s.RBD == nil && s.FlexVolume == nil && s.Cinder == nil && s.CephFS == nil &&
		s.Flocker == nil && s.DownwardAPI == nil && s.FC == nil && s.AzureFile == nil && s.ConfigMap == nil &&
		s.VsphereVolume == nil && s.Quobyte == nil && s.AzureDisk == nil && s.PhotonPersistentDisk == nil &&
		s.Projected == nil && s.PortworxVolume == nil && s.ScaleIO == nil && s.StorageOS == nil && s.CSI == nil &&
		s.Ephemeral == nil && s.Image == nil
}

// imageTag returns the tag an image reference resolves to the way upstream's
// image-name parser does: "latest" when neither a tag nor a digest is given,
// "" when only a digest is given or the reference is empty.
func imageTag(image string) string {
	if image == "" {
		return ""
	}
	name := image
	digest := false
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], true
	}
	last := name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		last = name[i+1:]
	}
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[i+1:]
	}
	if digest {
		return ""
	}
	return "latest"
}
