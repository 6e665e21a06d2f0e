package core

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// Priorities of the two built-in priority classes; the Priority admission
// plugin resolves them without a lookup.
const (
	systemClusterCriticalPriority = 2000000000
	systemNodeCriticalPriority    = 2000001000
	// defaultTolerationSeconds is the DefaultTolerationSeconds admission
	// plugin's default for the not-ready and unreachable taints.
	defaultTolerationSeconds = 300
)

func podStrategy() strategy.Funcs {
	return strategy.Funcs{
		Default:          func(obj runtime.Object) { defaultPod(obj.(*corev1.Pod)) },
		PrepareForCreate: func(obj runtime.Object) { preparePodForCreate(obj.(*corev1.Pod)) },
		PrepareForUpdate: func(obj, old runtime.Object) { preparePodForUpdate(obj.(*corev1.Pod), old.(*corev1.Pod)) },
		Validate:         func(obj runtime.Object) field.ErrorList { return validatePodCreate(obj.(*corev1.Pod)) },
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validatePodUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
		},
		ValidateStatusUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validatePodStatusUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
		},
		Fields: func(obj runtime.Object) fields.Set { return podFields(obj.(*corev1.Pod)) },
	}
}

// defaultPod applies SetDefaults_PodSpec and the pod-only SetDefaults_Pod.
func defaultPod(pod *corev1.Pod) {
	DefaultPodSpec(&pod.Spec)
	requestsFromLimits := func(cs []corev1.Container) {
		for i := range cs {
			r := &cs[i].Resources
			if r.Limits == nil {
				continue
			}
			if r.Requests == nil {
				r.Requests = corev1.ResourceList{}
			}
			for k, v := range r.Limits {
				if _, ok := r.Requests[k]; !ok {
					r.Requests[k] = v.DeepCopy()
				}
			}
		}
	}
	// The v1 API carries the primary pod and host IPs twice; upstream keeps
	// them consistent in conversion.
	if pod.Status.PodIP != "" && len(pod.Status.PodIPs) == 0 {
		pod.Status.PodIPs = []corev1.PodIP{{IP: pod.Status.PodIP}}
	}
	if len(pod.Status.PodIPs) > 0 {
		pod.Status.PodIP = pod.Status.PodIPs[0].IP
	}
	if pod.Status.HostIP != "" && len(pod.Status.HostIPs) == 0 {
		pod.Status.HostIPs = []corev1.HostIP{{IP: pod.Status.HostIP}}
	}
	if len(pod.Status.HostIPs) > 0 {
		pod.Status.HostIP = pod.Status.HostIPs[0].IP
	}
	requestsFromLimits(pod.Spec.Containers)
	requestsFromLimits(pod.Spec.InitContainers)
	if pod.Spec.EnableServiceLinks == nil {
		v := corev1.DefaultEnableServiceLinks
		pod.Spec.EnableServiceLinks = &v
	}
	if pod.Spec.HostNetwork {
		for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
			for i := range cs {
				for j := range cs[i].Ports {
					if cs[i].Ports[j].HostPort == 0 {
						cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
					}
				}
			}
		}
	}
}

// preparePodForCreate resets status and applies the admission plugins whose
// effect every cluster shows: Priority (built-in classes and the default of
// 0) and DefaultTolerationSeconds.
func preparePodForCreate(pod *corev1.Pod) {
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}
	}
	if pod.Spec.Priority == nil {
		var p int32
		switch pod.Spec.PriorityClassName {
		case "system-cluster-critical":
			p = systemClusterCriticalPriority
		case "system-node-critical":
			p = systemNodeCriticalPriority
		}
		if pod.Spec.PriorityClassName == "" || p != 0 {
			pod.Spec.Priority = &p
		}
	}
	if pod.Spec.PreemptionPolicy == nil {
		pp := corev1.PreemptLowerPriority
		pod.Spec.PreemptionPolicy = &pp
	}
	addDefaultTolerations(pod)
	// The ServiceAccount admission plugin runs pods as "default" unless told
	// otherwise (mirror pods excepted); the token volume it also mounts is
	// not added here.
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror && pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
		pod.Spec.DeprecatedServiceAccount = "default"
	}
	pod.Status.QOSClass = podQOS(pod)
}

func addDefaultTolerations(pod *corev1.Pod) {
	tolerated := func(key string) bool {
		for _, t := range pod.Spec.Tolerations {
			if (t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)) &&
				(t.Effect == "" || t.Effect == corev1.TaintEffectNoExecute) {
				return true
			}
		}
		return false
	}
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		if tolerated(key) {
			continue
		}
		secs := int64(defaultTolerationSeconds)
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs,
		})
	}
}

func preparePodForUpdate(pod, old *corev1.Pod) {
	pod.Status = old.Status
}

func validatePodMetadataAndSpec(pod *corev1.Pod) field.ErrorList {
	allErrs := validateObjectMeta(&pod.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	allErrs = append(allErrs, validatePodSpecificAnnotations(pod.Annotations, &pod.Spec, metadataPath.Child("annotations"))...)
	allErrs = append(allErrs, validatePodSpec(&pod.Spec, &pod.ObjectMeta, specPath, podOpts{resourceIsPod: true})...)
	if pod.Spec.ServiceAccountName == "" {
		for vi, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for si, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					allErrs = append(allErrs, field.Forbidden(specPath.Child("volumes").Index(vi).Child("projected", "sources").Index(si).Child("serviceAccountToken"),
						"must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	for _, cs := range []struct {
		name string
		cs   []corev1.Container
	}{{"containers", pod.Spec.Containers}, {"initContainers", pod.Spec.InitContainers}} {
		for i, c := range cs.cs {
			if len(c.Image) != len(strings.TrimSpace(c.Image)) {
				allErrs = append(allErrs, field.Invalid(specPath.Child(cs.name).Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
			}
		}
	}
	return allErrs
}

func validatePodCreate(pod *corev1.Pod) field.ErrorList {
	allErrs := validatePodMetadataAndSpec(pod)
	if len(pod.Spec.EphemeralContainers) > 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return allErrs
}

var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

func validateContainerUpdates(newCs, oldCs []corev1.Container, fldPath *field.Path) (field.ErrorList, bool) {
	if len(newCs) != len(oldCs) {
		return field.ErrorList{field.Forbidden(fldPath, "pod updates may not add or remove containers")}, true
	}
	var allErrs field.ErrorList
	for i, c := range newCs {
		if c.Image == "" {
			allErrs = append(allErrs, field.Required(fldPath.Index(i).Child("image"), ""))
		}
		if len(strings.TrimSpace(c.Image)) != len(c.Image) {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
	}
	return allErrs, false
}

// validatePodUpdate is upstream's ValidatePodUpdate: the spec is immutable
// except for the fields listed in updatablePodSpecFields, scheduling gate
// removal and, for gated pods, node selector and affinity additions.
func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta, metadataPath)
	allErrs = append(allErrs, validatePodMetadataAndSpec(pod)...)
	allErrs = append(allErrs, validateMirrorAnnotationUpdate(pod, old)...)

	errs, stop := validateContainerUpdates(pod.Spec.Containers, old.Spec.Containers, specPath.Child("containers"))
	allErrs = append(allErrs, errs...)
	if stop {
		return allErrs
	}
	errs, stop = validateContainerUpdates(pod.Spec.InitContainers, old.Spec.InitContainers, specPath.Child("initContainers"))
	allErrs = append(allErrs, errs...)
	if stop {
		return allErrs
	}
	adsPath := specPath.Child("activeDeadlineSeconds")
	if pod.Spec.ActiveDeadlineSeconds != nil {
		v := *pod.Spec.ActiveDeadlineSeconds
		if v < 0 || v > math.MaxInt32 {
			return append(allErrs, field.Invalid(adsPath, v, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if old.Spec.ActiveDeadlineSeconds != nil && *old.Spec.ActiveDeadlineSeconds < v {
			return append(allErrs, field.Invalid(adsPath, v, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Invalid(adsPath, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	allErrs = append(allErrs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	allErrs = append(allErrs, validateOnlyDeletedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)

	if apiequality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return allErrs
	}
	munged := *pod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.SchedulingGates = old.Spec.SchedulingGates
	munged.Tolerations = old.Spec.Tolerations
	if old.Spec.TerminationGracePeriodSeconds != nil && *old.Spec.TerminationGracePeriodSeconds < 0 &&
		munged.TerminationGracePeriodSeconds != nil && *munged.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = old.Spec.TerminationGracePeriodSeconds
	}
	if len(old.Spec.SchedulingGates) > 0 {
		// Gated pods may gain node selector entries and node affinity.
		if !apiequality.Semantic.DeepEqual(munged.NodeSelector, old.Spec.NodeSelector) {
			for k, v := range old.Spec.NodeSelector {
				if nv, ok := munged.NodeSelector[k]; !ok || nv != v {
					allErrs = append(allErrs, field.Invalid(specPath.Child("nodeSelector"), munged.NodeSelector, "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
					break
				}
			}
			munged.NodeSelector = old.Spec.NodeSelector
		}
		var oldNA, newNA *corev1.NodeAffinity
		if old.Spec.Affinity != nil {
			oldNA = old.Spec.Affinity.NodeAffinity
		}
		if munged.Affinity != nil {
			newNA = munged.Affinity.NodeAffinity
		}
		if !apiequality.Semantic.DeepEqual(oldNA, newNA) && (oldNA == nil || oldNA.RequiredDuringSchedulingIgnoredDuringExecution == nil) {
			switch {
			case munged.Affinity == nil:
			case old.Spec.Affinity == nil && munged.Affinity.PodAffinity == nil && munged.Affinity.PodAntiAffinity == nil:
				munged.Affinity = nil
			default:
				a := *munged.Affinity
				a.NodeAffinity = oldNA
				munged.Affinity = &a
			}
		}
	}
	if !apiequality.Semantic.DeepEqual(munged, old.Spec) {
		diff := cmp.Diff(old.Spec, munged)
		allErrs = append(allErrs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(updatablePodSpecFields, ","), diff)))
	}
	return allErrs
}

func validateMirrorAnnotationUpdate(pod, old *corev1.Pod) field.ErrorList {
	p := metadataPath.Child("annotations").Key(corev1.MirrorPodAnnotationKey)
	oldV, oldOK := old.Annotations[corev1.MirrorPodAnnotationKey]
	newV, newOK := pod.Annotations[corev1.MirrorPodAnnotationKey]
	switch {
	case oldOK && (!newOK || newV != oldV):
		return field.ErrorList{field.Forbidden(p, "may not remove or update mirror pod annotation")}
	case !oldOK && newOK:
		return field.ErrorList{field.Forbidden(p, "may not add mirror pod annotation")}
	}
	return nil
}

func validateOnlyAddedTolerations(newTs, oldTs []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range oldTs {
		found := false
		for _, n := range newTs {
			oc := o
			oc.TolerationSeconds = n.TolerationSeconds
			if apiequality.Semantic.DeepEqual(oc, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(newTs, fldPath)
}

func validateOnlyDeletedSchedulingGates(newGates, oldGates []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	old := map[string]bool{}
	for _, g := range oldGates {
		old[g.Name] = true
	}
	for i, g := range newGates {
		if !old[g.Name] {
			allErrs = append(allErrs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return allErrs
}

// validatePodStatusUpdate is upstream's ValidatePodStatusUpdate for the
// fields kplane's components write.
func validatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta, metadataPath)
	allErrs = append(allErrs, validateMirrorAnnotationUpdate(pod, old)...)
	for i, c := range pod.Status.Conditions {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized:
			continue
		}
		allErrs = append(allErrs, validateQualifiedName(string(c.Type), metadataPath.Child("conditions").Index(i).Child("Type"))...)
	}
	if pod.Spec.NodeName != old.Spec.NodeName {
		allErrs = append(allErrs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if nn := pod.Status.NominatedNodeName; nn != old.Status.NominatedNodeName && nn != "" {
		allErrs = append(allErrs, validateName(apimachineryvalidation.NameIsDNSSubdomain, nn, statusPath.Child("nominatedNodeName"))...)
	}
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(pod.Status.QOSClass, old.Status.QOSClass, statusPath.Child("qosClass"))...)
	allErrs = append(allErrs, validateContainerStateTransition(pod.Status.ContainerStatuses, old.Status.ContainerStatuses, statusPath.Child("containerStatuses"), old.Spec.RestartPolicy)...)
	allErrs = append(allErrs, validatePodIPs(pod)...)
	return allErrs
}

func validateContainerStateTransition(newSs, oldSs []corev1.ContainerStatus, fldPath *field.Path, rp corev1.RestartPolicy) field.ErrorList {
	if rp == corev1.RestartPolicyAlways {
		return nil
	}
	var allErrs field.ErrorList
	for i, o := range oldSs {
		if o.State.Terminated == nil || (o.State.Terminated.ExitCode != 0 && rp == corev1.RestartPolicyOnFailure) {
			continue
		}
		for _, n := range newSs {
			if o.Name == n.Name && n.State.Terminated == nil {
				allErrs = append(allErrs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return allErrs
}

func validatePodIPs(pod *corev1.Pod) field.ErrorList {
	var allErrs field.ErrorList
	p := statusPath.Child("podIPs")
	ips := make([]string, 0, len(pod.Status.PodIPs))
	for i, ip := range pod.Status.PodIPs {
		allErrs = append(allErrs, validation.IsValidIP(p.Index(i), ip.IP)...)
		ips = append(ips, ip.IP)
	}
	if len(allErrs) == 0 && len(ips) > 1 {
		if !isDualStack(ips) || len(ips) > 2 {
			allErrs = append(allErrs, field.Invalid(p, pod.Status.PodIPs, "may specify no more than one IP for each IP family"))
		}
		seen := map[string]bool{}
		for i, ip := range pod.Status.PodIPs {
			if seen[ip.IP] {
				allErrs = append(allErrs, field.Duplicate(p.Index(i), ip))
			}
			seen[ip.IP] = true
		}
	}
	return allErrs
}

func podFields(pod *corev1.Pod) fields.Set {
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}

// ValidateBinding validates the body of a pods/binding request.
func ValidateBinding(b *corev1.Binding) field.ErrorList {
	var allErrs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		allErrs = append(allErrs, field.Required(field.NewPath("target", "name"), ""))
	}
	return allErrs
}
