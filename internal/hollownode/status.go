package hollownode

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// ownedPodConditions are the pod conditions a kubelet writes; others (set
// by the scheduler, controllers or readiness gates) are kept as they are.
var ownedPodConditions = map[corev1.PodConditionType]bool{
	corev1.PodReadyToStartContainers: true,
	corev1.PodInitialized:            true,
	corev1.ContainersReady:           true,
	corev1.PodReady:                  true,
}

// podStatus is the full status the kubelet would report for pod in state
// st at now.
func (f *Fleet) podStatus(pod *corev1.Pod, st *podState, now time.Time) corev1.PodStatus {
	n := st.node
	started := metav1.NewTime(time.Unix(0, st.startAt))
	s := corev1.PodStatus{
		Phase:    corev1.PodRunning,
		HostIP:   n.ip.String(),
		HostIPs:  []corev1.HostIP{{IP: n.ip.String()}},
		QOSClass: pod.Status.QOSClass,
	}
	// startTime is when the kubelet accepted the pod, before its
	// containers started.
	first := started
	if st.seen != 0 {
		first = metav1.NewTime(time.Unix(0, st.seen))
	}
	if pod.Status.StartTime != nil {
		first = *pod.Status.StartTime
	}
	s.StartTime = &first
	ip := n.ip.String()
	if st.ip.IsValid() {
		ip = st.ip.String()
	}
	s.PodIP, s.PodIPs = ip, []corev1.PodIP{{IP: ip}}

	if st.stage == stageStarting {
		return f.pendingStatus(pod, st, s)
	}
	done := st.stage == stageDone
	ready := st.ready && !done
	readySince := started
	if st.ready {
		readySince = metav1.NewTime(time.Unix(0, max(st.readyAt, st.startAt)))
	}
	if done {
		s.Phase = corev1.PodSucceeded
		if st.exitCode != 0 {
			s.Phase = corev1.PodFailed
		}
		readySince = metav1.NewTime(now)
	}

	cond := func(t corev1.PodConditionType, ok bool, since metav1.Time, reason string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: since}
		if !ok {
			c.Status, c.Reason = corev1.ConditionFalse, reason
		}
		return c
	}
	for _, c := range pod.Status.Conditions {
		if !ownedPodConditions[c.Type] {
			s.Conditions = append(s.Conditions, c)
		}
	}
	notReady := "ContainersNotReady"
	if done {
		notReady = "PodCompleted"
	}
	s.Conditions = append(s.Conditions,
		cond(corev1.PodReadyToStartContainers, !done, started, ""),
		cond(corev1.PodInitialized, true, started, ""),
		cond(corev1.ContainersReady, ready, readySince, notReady),
		cond(corev1.PodReady, ready, readySince, notReady),
	)
	if !hasPodCondition(s.Conditions, corev1.PodScheduled) {
		s.Conditions = append([]corev1.PodCondition{cond(corev1.PodScheduled, true, first, "")}, s.Conditions...)
	}

	for _, c := range pod.Spec.InitContainers {
		cs := containerStatus(pod, c, st)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			// A sidecar runs beside the main containers.
			cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
			cs.Ready, cs.Started = !done, ptr.To(!done)
		} else {
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: first, FinishedAt: first, ContainerID: cs.ContainerID,
			}}
			cs.Started = ptr.To(false)
		}
		s.InitContainerStatuses = append(s.InitContainerStatuses, cs)
	}
	for _, c := range pod.Spec.Containers {
		cs := containerStatus(pod, c, st)
		cs.Ready = ready
		if done {
			reason := "Completed"
			if st.exitCode != 0 {
				reason = "Error"
			}
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: st.exitCode, Reason: reason, StartedAt: started, FinishedAt: metav1.NewTime(now), ContainerID: cs.ContainerID,
			}}
			cs.Started = ptr.To(false)
		} else {
			cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
			cs.Started = ptr.To(true)
			if st.restarts > 0 {
				reason := "Completed"
				if st.exitCode != 0 {
					reason = "Error"
				}
				cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: st.exitCode, Reason: reason, FinishedAt: started,
				}}
			}
		}
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	return s
}

// pendingStatus is the status of a pod whose containers are being
// created: Pending, no IP yet, containers waiting in ContainerCreating.
func (f *Fleet) pendingStatus(pod *corev1.Pod, st *podState, s corev1.PodStatus) corev1.PodStatus {
	seen := metav1.NewTime(time.Unix(0, st.seen))
	s.Phase, s.PodIP, s.PodIPs, s.StartTime = corev1.PodPending, "", nil, &seen
	for _, c := range pod.Status.Conditions {
		if !ownedPodConditions[c.Type] {
			s.Conditions = append(s.Conditions, c)
		}
	}
	notReady := func(t corev1.PodConditionType, reason string) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: seen, Reason: reason}
	}
	s.Conditions = append(s.Conditions,
		notReady(corev1.PodReadyToStartContainers, ""),
		corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: seen},
		notReady(corev1.ContainersReady, "ContainersNotReady"),
		notReady(corev1.PodReady, "ContainersNotReady"),
	)
	for _, c := range pod.Spec.Containers {
		cs := containerStatus(pod, c, st)
		cs.ContainerID = ""
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
		cs.Started = ptr.To(false)
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	return s
}

func containerStatus(pod *corev1.Pod, c corev1.Container, st *podState) corev1.ContainerStatus {
	uid := string(pod.UID)
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return corev1.ContainerStatus{
		Name: c.Name, Image: c.Image, ImageID: "hollow://" + c.Image,
		ContainerID:  "hollow://" + uid + "-" + c.Name,
		RestartCount: st.restarts,
	}
}

func hasPodCondition(conds []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return true
		}
	}
	return false
}

// trimPod drops what the simulation never reads from pods in the
// informer's cache (managed fields, volumes, environment, commands), the
// bulk of a pod's memory. Status is written with patches, so the trimmed
// copy is never sent back.
func trimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	p.ManagedFields = nil
	p.Spec.Volumes = nil
	p.Spec.Affinity = nil
	p.Spec.Tolerations = nil
	p.Spec.TopologySpreadConstraints = nil
	trim := func(cs []corev1.Container) {
		for i := range cs {
			c := &cs[i]
			c.Env, c.EnvFrom, c.VolumeMounts, c.Command, c.Args = nil, nil, nil, nil, nil
			c.LivenessProbe, c.StartupProbe = nil, nil
		}
	}
	trim(p.Spec.InitContainers)
	trim(p.Spec.Containers)
	return p, nil
}
