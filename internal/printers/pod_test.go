package printers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// podWith builds a pod named name with n unnamed containers.
func podWith(name string, n int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: make([]corev1.Container, n)},
	}
}

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, exit, signal int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: exit, Signal: signal}}
}

func finishedAgo(d time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: ago(d)}}
}

// narrow returns the five default pod cells followed by the wide cells of
// a pod with no IP, node, nomination or readiness gates.
func narrow(cells ...interface{}) []interface{} {
	return append(cells, none, none, none, none)
}

func TestPodRows(t *testing.T) {
	p := podWith("test1", 2)
	p.Status = corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
		{Ready: true, RestartCount: 3, State: running()},
		{RestartCount: 3},
	}}

	waitingOverridesPhase := podWith("test2", 2)
	waitingOverridesPhase.Status = corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
		{Ready: true, RestartCount: 3, State: running()},
		{State: waiting("ContainerWaitingReason"), RestartCount: 3},
	}}

	firstContainerWins := podWith("test3", 2)
	firstContainerWins.Status = corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
		{State: waiting("ContainerWaitingReason"), RestartCount: 3},
		{State: terminated("ContainerTerminatedReason", 0, 0), RestartCount: 3},
	}}

	twoOfThree := podWith("web-0", 3)
	twoOfThree.CreationTimestamp = ago(3 * 24 * time.Hour)
	twoOfThree.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
		{Ready: true, State: running()},
		{Ready: true, State: running(), RestartCount: 2, LastTerminationState: finishedAgo(5 * time.Minute)},
		{Ready: false, State: running()},
	}}

	terminating := podWith("going", 1)
	terminating.DeletionTimestamp = ptr(ago(time.Second))
	terminating.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Ready: true, State: running()}}}

	nodeLost := podWith("lost", 1)
	nodeLost.DeletionTimestamp = ptr(ago(time.Second))
	nodeLost.Status = corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost"}

	deletedSucceeded := podWith("done", 1)
	deletedSucceeded.DeletionTimestamp = ptr(ago(time.Second))
	deletedSucceeded.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{State: terminated("Completed", 0, 0)}}}

	initRestarting := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "test7"},
		Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 1), Containers: make([]corev1.Container, 1)},
		Status: corev1.PodStatus{
			Phase: "podPhase",
			InitContainerStatuses: []corev1.ContainerStatus{
				{RestartCount: 3, State: running(), LastTerminationState: finishedAgo(10 * time.Second)},
			},
			ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
		},
	}

	secondInitRunning := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "test9"},
		Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 2), Containers: make([]corev1.Container, 1)},
		Status: corev1.PodStatus{
			Phase: "podPhase",
			InitContainerStatuses: []corev1.ContainerStatus{
				{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
				{RestartCount: 3, State: running(), LastTerminationState: finishedAgo(10 * time.Second)},
			},
			ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
		},
	}

	initStatus := func(name string, st corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 1), Containers: make([]corev1.Container, 1)},
			Status: corev1.PodStatus{
				Phase:                 corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{{State: st}},
				ContainerStatuses:     []corev1.ContainerStatus{{State: waiting("PodInitializing")}},
			},
		}
	}

	completedAndRunning := func(name string, ready bool) *corev1.Pod {
		p := podWith(name, 2)
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Ready: true, RestartCount: 3, State: terminated("Completed", 0, 0)},
			{Ready: true, RestartCount: 3, State: running()},
		}}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		return p
	}

	exited := func(name string, exit, signal int32) *corev1.Pod {
		p := podWith(name, 1)
		p.Status = corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{State: terminated("", exit, signal)}}}
		return p
	}

	sidecar := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "with-sidecar"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "proxy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}},
			Containers:     []corev1.Container{{Name: "app"}},
		},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
			InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "proxy", Ready: true, Started: ptr(true), State: running(), RestartCount: 1, LastTerminationState: finishedAgo(2 * time.Hour)},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, State: running()}},
		},
	}

	gated := podWith("gated", 1)
	gated.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated},
	}}

	scheduled := podWith("placed", 1)
	scheduled.CreationTimestamp = ago(90 * time.Second)
	scheduled.Spec.NodeName = "node-1"
	scheduled.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/a"}, {ConditionType: "example.com/b"}}
	scheduled.Status = corev1.PodStatus{
		Phase:             corev1.PodRunning,
		PodIP:             "10.0.0.9",
		PodIPs:            []corev1.PodIP{{IP: "10.0.0.7"}, {IP: "fd00::7"}},
		NominatedNodeName: "node-2",
		Conditions: []corev1.PodCondition{
			{Type: "example.com/a", Status: corev1.ConditionTrue},
			{Type: "example.com/b", Status: corev1.ConditionFalse},
		},
		ContainerStatuses: []corev1.ContainerStatus{{Ready: true, State: running()}},
	}

	legacyIP := podWith("legacy-ip", 0)
	legacyIP.Status.PodIP = "10.1.2.3"

	runRows(t, schema.GroupKind{Kind: "Pod"}, []rowCase{
		{"restarts summed, only running ready containers count", p, narrow("test1", "1/2", "podPhase", "6", unknown)},
		{"waiting reason overrides phase", waitingOverridesPhase, narrow("test2", "1/2", "ContainerWaitingReason", "6", unknown)},
		{"first container's reason wins", firstContainerWins, narrow("test3", "0/2", "ContainerWaitingReason", "6", unknown)},
		{"two of three ready with a recent restart", twoOfThree, narrow("web-0", "2/3", "Running", "2 (5m ago)", "3d")},
		{"deleted running pod is terminating", terminating, narrow("going", "1/1", "Terminating", "0", unknown)},
		{"deleted pod on lost node is unknown", nodeLost, narrow("lost", "0/1", "Unknown", "0", unknown)},
		{"deleted succeeded pod stays completed", deletedSucceeded, narrow("done", "0/1", "Completed", "0", unknown)},
		{"first init container restarting", initRestarting, narrow("test7", "0/1", "Init:0/1", "3 (10s ago)", unknown)},
		{"second init container running", secondInitRunning, narrow("test9", "0/1", "Init:1/2", "3 (10s ago)", unknown)},
		{"init container waiting with reason", initStatus("crash", waiting("CrashLoopBackOff")), narrow("crash", "0/1", "Init:CrashLoopBackOff", "0", unknown)},
		{"init container waiting for pod initializing", initStatus("podinit", waiting("PodInitializing")), narrow("podinit", "0/1", "Init:0/1", "0", unknown)},
		{"init container failed with exit code", initStatus("initexit", terminated("", 1, 0)), narrow("initexit", "0/1", "Init:ExitCode:1", "0", unknown)},
		{"init container killed by signal", initStatus("initsig", terminated("", 137, 9)), narrow("initsig", "0/1", "Init:Signal:9", "0", unknown)},
		{"init container failed with reason", initStatus("initerr", terminated("Error", 2, 0)), narrow("initerr", "0/1", "Init:Error", "0", unknown)},
		{"completed and running without ready condition", completedAndRunning("nr", false), narrow("nr", "1/2", "NotReady", "6", unknown)},
		{"completed and running with ready condition", completedAndRunning("r", true), narrow("r", "1/2", "Running", "6", unknown)},
		{"container exited without reason", exited("exit", 3, 0), narrow("exit", "0/1", "ExitCode:3", "0", unknown)},
		{"container killed by signal", exited("sig", 0, 15), narrow("sig", "0/1", "Signal:15", "0", unknown)},
		{"started sidecar counts as container", sidecar, narrow("with-sidecar", "2/2", "Running", "1 (120m ago)", unknown)},
		{"scheduling gated", gated, narrow("gated", "0/1", "SchedulingGated", "0", unknown)},
		{"wide columns", scheduled, []interface{}{"placed", "1/1", "Running", "0", "90s", "10.0.0.7", "node-1", "node-2", "1/2"}},
		{"legacy podIP without podIPs", legacyIP, []interface{}{"legacy-ip", "0/0", "", "0", unknown, "10.1.2.3", none, none, none}},
	})
}

func TestPodTemplateRows(t *testing.T) {
	pt := &corev1.PodTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "tmpl"},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"b": "2", "a": "1"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c1", Image: "i1"}, {Name: "c2", Image: "i2"}}},
		},
	}
	runRows(t, schema.GroupKind{Kind: "PodTemplate"}, []rowCase{
		{"containers images and labels", pt, []interface{}{"tmpl", "c1,c2", "i1,i2", "a=1,b=2"}},
		{"empty template", &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: "e"}}, []interface{}{"e", "", "", "<none>"}},
	})
}
