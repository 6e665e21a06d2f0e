package printers

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func om(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

func TestNodeRows(t *testing.T) {
	ready := func(s corev1.ConditionStatus) []corev1.NodeCondition {
		return []corev1.NodeCondition{{Type: corev1.NodeReady, Status: s}}
	}
	notReady := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:              "worker-1",
			CreationTimestamp: ago(400 * 24 * time.Hour),
			Labels: map[string]string{
				"node-role.kubernetes.io/master":        "",
				"node-role.kubernetes.io/control-plane": "",
				"node-role.kubernetes.io/proxy":         "",
				"kubernetes.io/role":                    "node",
			},
		},
		Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{
			Conditions: ready(corev1.ConditionFalse),
			NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.37.0", OSImage: "Ubuntu 24.04", KernelVersion: "6.8.0", ContainerRuntimeVersion: "containerd://2.1.0"},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeExternalIP, Address: "2.2.2.2"},
				{Type: corev1.NodeInternalIP, Address: "3.3.3.3"},
				{Type: corev1.NodeInternalIP, Address: "4.4.4.4"},
			},
		},
	}
	node := func(name string, spec corev1.NodeSpec, conds []corev1.NodeCondition) *corev1.Node {
		return &corev1.Node{ObjectMeta: om(name), Spec: spec, Status: corev1.NodeStatus{Conditions: conds}}
	}
	plain := func(name, status string) []interface{} {
		return []interface{}{name, status, none, unknown, "", none, none, unknown, unknown, unknown}
	}
	runRows(t, schema.GroupKind{Kind: "Node"}, []rowCase{
		{"not ready, unschedulable, with roles", notReady, []interface{}{"worker-1", "NotReady,SchedulingDisabled", "control-plane,master,node,proxy", "400d", "v1.37.0", "3.3.3.3", "2.2.2.2", "Ubuntu 24.04", "6.8.0", "containerd://2.1.0"}},
		{"ready", node("foo1", corev1.NodeSpec{}, ready(corev1.ConditionTrue)), plain("foo1", "Ready")},
		{"ready unschedulable", node("foo2", corev1.NodeSpec{Unschedulable: true}, ready(corev1.ConditionTrue)), plain("foo2", "Ready,SchedulingDisabled")},
		{"ready condition listed twice", node("foo3", corev1.NodeSpec{}, append(ready(corev1.ConditionTrue), ready(corev1.ConditionTrue)...)), plain("foo3", "Ready")},
		{"unknown ready status is not ready", node("foo4", corev1.NodeSpec{}, ready(corev1.ConditionUnknown)), plain("foo4", "NotReady")},
		{"no ready condition", node("foo6", corev1.NodeSpec{}, []corev1.NodeCondition{{Type: "InvalidValue", Status: corev1.ConditionTrue}}), plain("foo6", "Unknown")},
		{"no conditions unschedulable", node("foo9", corev1.NodeSpec{Unschedulable: true}, nil), plain("foo9", "Unknown,SchedulingDisabled")},
	})
}

func TestWorkloadRows(t *testing.T) {
	containers := []corev1.Container{{Name: "web", Image: "nginx:1"}, {Name: "log", Image: "busybox"}}
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}

	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: ago(5 * time.Hour)},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: sel, Template: tmpl},
		Status:     appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2},
	}
	runRows(t, schema.GroupKind{Group: "apps", Kind: "Deployment"}, []rowCase{
		{"two of three up to date", deploy, []interface{}{"web", "2/3", int64(2), int64(2), "5h", "web,log", "nginx:1,busybox", "app=web"}},
		{"no selector prints empty", &appsv1.Deployment{ObjectMeta: om("bare")}, []interface{}{"bare", "0/0", int64(0), int64(0), unknown, "", "", ""}},
	})

	rs := &appsv1.ReplicaSet{
		ObjectMeta: om("web-abc"),
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr(int32(5)), Selector: sel, Template: tmpl},
		Status:     appsv1.ReplicaSetStatus{Replicas: 4, ReadyReplicas: 3},
	}
	runRows(t, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, []rowCase{
		{"replica counts", rs, []interface{}{"web-abc", int64(5), int64(4), int64(3), unknown, "web,log", "nginx:1,busybox", "app=web"}},
		{"nil selector", &appsv1.ReplicaSet{ObjectMeta: om("x")}, []interface{}{"x", int64(0), int64(0), int64(0), unknown, "", "", none}},
	})

	rc := &corev1.ReplicationController{
		ObjectMeta: om("rc"),
		Spec:       corev1.ReplicationControllerSpec{Replicas: ptr(int32(2)), Selector: map[string]string{"app": "web"}, Template: &tmpl},
		Status:     corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1},
	}
	runRows(t, schema.GroupKind{Kind: "ReplicationController"}, []rowCase{
		{"replica counts", rc, []interface{}{"rc", int64(2), int64(2), int64(1), unknown, "web,log", "nginx:1,busybox", "app=web"}},
	})

	ss := &appsv1.StatefulSet{
		ObjectMeta: om("db"),
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr(int32(3)), Template: tmpl},
		Status:     appsv1.StatefulSetStatus{ReadyReplicas: 1},
	}
	runRows(t, schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, []rowCase{
		{"ready of desired", ss, []interface{}{"db", "1/3", unknown, "web,log", "nginx:1,busybox"}},
	})

	ds := &appsv1.DaemonSet{
		ObjectMeta: om("agent"),
		Spec: appsv1.DaemonSetSpec{Selector: sel, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: containers[:1], NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
		}}},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 1, NumberAvailable: 2},
	}
	runRows(t, schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, []rowCase{
		{"counts and node selector", ds, []interface{}{"agent", int64(3), int64(3), int64(2), int64(1), int64(2), "kubernetes.io/os=linux", unknown, "web", "nginx:1", "app=web"}},
	})

	owned := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "agent-5d8", OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", Controller: ptr(true)},
		}},
		Revision: 4,
	}
	badOwner := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "bad", OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "a/b/c", Kind: "DaemonSet", Name: "agent", Controller: ptr(true)},
		}},
	}
	runRows(t, schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}, []rowCase{
		{"controller with group", owned, []interface{}{"agent-5d8", "daemonset.apps/agent", int64(4), unknown}},
		{"no controller", &appsv1.ControllerRevision{ObjectMeta: om("orphan"), Revision: 1}, []interface{}{"orphan", none, int64(1), unknown}},
	})
	if _, err := For(schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}).Row(badOwner, now); err == nil {
		t.Error("controller revision with unparsable owner apiVersion: want error")
	}
}

func TestBatchRows(t *testing.T) {
	complete := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "job1", CreationTimestamp: ago(time.Hour)},
		Spec:       batchv1.JobSpec{Completions: ptr(int32(2))},
		Status: batchv1.JobStatus{
			Succeeded: 2, StartTime: ptr(ago(time.Hour)), CompletionTime: ptr(ago(time.Hour - 150*time.Second)),
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}},
		},
	}
	parallel := &batchv1.Job{
		ObjectMeta: om("job2"),
		Spec:       batchv1.JobSpec{Parallelism: ptr(int32(4))},
		Status:     batchv1.JobStatus{Succeeded: 1, StartTime: ptr(ago(10 * time.Second))},
	}
	terminating := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "job3", DeletionTimestamp: ptr(ago(time.Second))},
		Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue}}},
	}
	suspended := &batchv1.Job{
		ObjectMeta: om("job4"),
		Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue}}},
	}
	failureTarget := &batchv1.Job{
		ObjectMeta: om("job5"),
		Status:     batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue}}},
	}
	runRows(t, schema.GroupKind{Group: "batch", Kind: "Job"}, []rowCase{
		{"complete", complete, []interface{}{"job1", "Complete", "2/2", "2m30s", "60m", "", "", none}},
		{"parallel running", parallel, []interface{}{"job2", "Running", "1/1 of 4", "10s", unknown, "", "", none}},
		{"terminating beats suspended", terminating, []interface{}{"job3", "Terminating", "0/1", "", unknown, "", "", none}},
		{"suspended", suspended, []interface{}{"job4", "Suspended", "0/1", "", unknown, "", "", none}},
		{"failure target", failureTarget, []interface{}{"job5", "FailureTarget", "0/1", "", unknown, "", "", none}},
	})

	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", CreationTimestamp: ago(48 * time.Hour)},
		Spec: batchv1.CronJobSpec{
			Schedule: "0 0 * * *", TimeZone: ptr("Etc/UTC"), Suspend: ptr(false),
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
			}},
		},
		Status: batchv1.CronJobStatus{Active: make([]corev1.ObjectReference, 1), LastScheduleTime: ptr(ago(12 * time.Hour))},
	}
	runRows(t, schema.GroupKind{Group: "batch", Kind: "CronJob"}, []rowCase{
		{"scheduled", cj, []interface{}{"nightly", "0 0 * * *", "Etc/UTC", "False", int64(1), "12h", "2d", "c", "i", "a=b"}},
		{"never scheduled", &batchv1.CronJob{ObjectMeta: om("new"), Spec: batchv1.CronJobSpec{Schedule: "@hourly"}}, []interface{}{"new", "@hourly", none, unset, int64(0), none, unknown, "", "", none}},
	})
}

func TestServiceRows(t *testing.T) {
	svc := func(name string, spec corev1.ServiceSpec, lb ...corev1.LoadBalancerIngress) *corev1.Service {
		return &corev1.Service{ObjectMeta: om(name), Spec: spec, Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: lb}}}
	}
	ports := []corev1.ServicePort{{Port: 80, Protocol: "TCP"}, {Port: 8090, Protocol: "UDP", NodePort: 30090}}
	runRows(t, schema.GroupKind{Kind: "Service"}, []rowCase{
		{"cluster IP with external IPs", svc("a", corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.0.0.1", ClusterIPs: []string{"10.0.0.1", "fd00::1"}, ExternalIPs: []string{"1.1.1.1", "2.2.2.2"}, Ports: ports, Selector: map[string]string{"app": "a"}}),
			[]interface{}{"a", "ClusterIP", "10.0.0.1", "1.1.1.1,2.2.2.2", "80/TCP,8090:30090/UDP", unknown, "app=a"}},
		{"headless without ports", svc("b", corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"None"}}),
			[]interface{}{"b", "ClusterIP", "None", none, none, unknown, none}},
		{"node port", svc("c", corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.0.0.3"}, Ports: ports}),
			[]interface{}{"c", "NodePort", "10.0.0.3", none, "80/TCP,8090:30090/UDP", unknown, none}},
		{"load balancer pending", svc("d", corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"1.3.4.5"}, Ports: []corev1.ServicePort{{Port: 7777, Protocol: "SCTP"}}}),
			[]interface{}{"d", "LoadBalancer", "1.3.4.5", "<pending>", "7777/SCTP", unknown, none}},
		{"load balancer ingress is sorted and never clipped", svc("e", corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"1.5.6.7"}, Ports: ports[:1]},
			corev1.LoadBalancerIngress{IP: "3.4.5.6"}, corev1.LoadBalancerIngress{IP: "2.3.4.5"}, corev1.LoadBalancerIngress{IP: "5.6.7.8", Hostname: "host5678"}, corev1.LoadBalancerIngress{Hostname: "lb.example.com"}),
			[]interface{}{"e", "LoadBalancer", "1.5.6.7", "2.3.4.5,3.4.5.6,5.6.7.8,lb.example.com", "80/TCP", unknown, none}},
		{"load balancer plus external IPs", svc("f", corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"1.2.3.4"}, ExternalIPs: []string{"9.9.9.9"}}, corev1.LoadBalancerIngress{IP: "2.3.4.5"}),
			[]interface{}{"f", "LoadBalancer", "1.2.3.4", "2.3.4.5,9.9.9.9", none, unknown, none}},
		{"external name", svc("g", corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}),
			[]interface{}{"g", "ExternalName", none, "db.example.com", none, unknown, none}},
	})
}

func TestEventRows(t *testing.T) {
	days := func(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
	ev := func(mut func(*corev1.Event)) *corev1.Event {
		e := &corev1.Event{
			ObjectMeta:     om("event2"),
			Source:         corev1.EventSource{Component: "kubelet", Host: "Node1"},
			InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: "Deployment Name", FieldPath: "spec.containers{foo}"},
			Reason:         "Event Reason",
			Message:        "Message Data\n",
			Type:           corev1.EventTypeWarning,
		}
		mut(e)
		return e
	}
	want := func(last, source, first string, count int64, name string) []interface{} {
		return []interface{}{last, "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", source, "Message Data", first, count, name}
	}
	cases := []rowCase{
		{"first and last timestamps", ev(func(e *corev1.Event) {
			e.FirstTimestamp, e.LastTimestamp, e.Count = ago(days(3)), ago(days(2)), 6
		}), want("2d", "kubelet, Node1", "3d", 6, "event2")},
		{"event time stands in for first timestamp", ev(func(e *corev1.Event) {
			e.EventTime, e.LastTimestamp, e.Count = metav1.NewMicroTime(now.Add(-days(3))), ago(days(3)), 1
		}), want("3d", "kubelet, Node1", "3d", 1, "event2")},
		{"first timestamp stands in for last", ev(func(e *corev1.Event) {
			e.FirstTimestamp, e.Count = ago(days(3)), 1
		}), want("3d", "kubelet, Node1", "3d", 1, "event2")},
		{"series overrides last seen and count", ev(func(e *corev1.Event) {
			e.EventTime = metav1.NewMicroTime(now.Add(-days(3)))
			e.Series = &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(now.Add(-days(2)))}
		}), want("2d", "kubelet, Node1", "3d", 2, "event2")},
		{"singleton without count counts one", ev(func(e *corev1.Event) {
			e.EventTime = metav1.NewMicroTime(now.Add(-days(3)))
		}), want("3d", "kubelet, Node1", "3d", 1, "event2")},
		{"reporting controller and instance stand in for source", ev(func(e *corev1.Event) {
			e.Source = corev1.EventSource{}
			e.ReportingController, e.ReportingInstance = "kubelet", "test"
			e.FirstTimestamp, e.LastTimestamp, e.Count = ago(days(3)), ago(days(2)), 6
		}), want("2d", "kubelet, test", "3d", 6, "event2")},
		{"no times, no involved name", &corev1.Event{ObjectMeta: om("e"), InvolvedObject: corev1.ObjectReference{Kind: "Node"}, Type: "Normal", Source: corev1.EventSource{Component: "sched"}},
			[]interface{}{unknown, "Normal", "", "node", "", "sched", "", unknown, int64(1), "e"}},
	}
	runRows(t, schema.GroupKind{Kind: "Event"}, cases)
	runRows(t, schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, cases)
}

func TestCoreRows(t *testing.T) {
	runRows(t, schema.GroupKind{Kind: "Namespace"}, []rowCase{
		{"active", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: ago(30 * time.Minute)}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, []interface{}{"default", "Active", "30m"}},
	})
	runRows(t, schema.GroupKind{Kind: "ConfigMap"}, []rowCase{
		{"data and binary data", &corev1.ConfigMap{ObjectMeta: om("cm"), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": nil}}, []interface{}{"cm", int64(3), unknown}},
	})
	runRows(t, schema.GroupKind{Kind: "Secret"}, []rowCase{
		{"token", &corev1.Secret{ObjectMeta: om("secret1"), Type: corev1.SecretTypeServiceAccountToken, Data: map[string][]byte{"token": []byte("x")}}, []interface{}{"secret1", "kubernetes.io/service-account-token", int64(1), unknown}},
		{"string data merged", &corev1.Secret{ObjectMeta: om("s2"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": nil}, StringData: map[string]string{"a": "", "b": ""}}, []interface{}{"s2", "Opaque", int64(2), unknown}},
	})
	runRows(t, schema.GroupKind{Kind: "ServiceAccount"}, []rowCase{
		{"secrets counted", &corev1.ServiceAccount{ObjectMeta: om("sa1"), Secrets: make([]corev1.ObjectReference, 2)}, []interface{}{"sa1", int64(2), unknown}},
	})

	ep := &corev1.Endpoints{ObjectMeta: om("svc"), Subsets: []corev1.EndpointSubset{
		{Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}, Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}},
	}}
	headless := &corev1.Endpoints{ObjectMeta: om("hl"), Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "fd00::1"}}}}}
	runRows(t, schema.GroupKind{Kind: "Endpoints"}, []rowCase{
		{"more than three", ep, []interface{}{"svc", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...", unknown}},
		{"headless", headless, []interface{}{"hl", "fd00::1", unknown}},
		{"empty", &corev1.Endpoints{ObjectMeta: om("none")}, []interface{}{"none", none, unknown}},
	})

	rq := &corev1.ResourceQuota{ObjectMeta: om("quota"), Status: corev1.ResourceQuotaStatus{
		Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "requests.cpu": resource.MustParse("4"), "limits.memory": resource.MustParse("8Gi")},
		Used: corev1.ResourceList{"pods": resource.MustParse("3"), "limits.memory": resource.MustParse("1Gi")},
	}}
	runRows(t, schema.GroupKind{Kind: "ResourceQuota"}, []rowCase{
		{"requests and limits split", rq, []interface{}{"quota", "pods: 3/10, requests.cpu: 0/4", "limits.memory: 1Gi/8Gi", unknown}},
	})

	fs := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv1", Annotations: map[string]string{"volume.beta.kubernetes.io/storage-class": "beta"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany, corev1.ReadWriteOnce, corev1.ReadOnlyMany},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &corev1.ObjectReference{Namespace: "ns", Name: "claim"},
			StorageClassName:              "ignored",
			VolumeMode:                    &fs,
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
	}
	runRows(t, schema.GroupKind{Kind: "PersistentVolume"}, []rowCase{
		{"bound", pv, []interface{}{"pv1", "5Gi", "RWO,ROX,RWOP", "Retain", "Bound", "ns/claim", "beta", unset, "", unknown, "Filesystem"}},
		{"terminating", &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv2", DeletionTimestamp: ptr(ago(time.Second))}, Spec: corev1.PersistentVolumeSpec{StorageClassName: "fast", VolumeAttributesClassName: ptr("gold")}},
			[]interface{}{"pv2", "0", "", "", "Terminating", "", "fast", "gold", "", unknown, unset}},
	})

	bound := &corev1.PersistentVolumeClaim{
		ObjectMeta: om("data"),
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "pv1", StorageClassName: ptr("fast")},
		Status: corev1.PersistentVolumeClaimStatus{
			Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
		},
	}
	runRows(t, schema.GroupKind{Kind: "PersistentVolumeClaim"}, []rowCase{
		{"bound", bound, []interface{}{"data", "Bound", "pv1", "5Gi", "RWO", "fast", unset, unknown, unset}},
		{"pending shows no capacity", &corev1.PersistentVolumeClaim{ObjectMeta: om("p"), Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending, Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
			[]interface{}{"p", "Pending", "", "", "", "", unset, unknown, unset}},
	})
}

func TestClusterAPIRows(t *testing.T) {
	runRows(t, schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, []rowCase{
		{"held", &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: ago(7 * time.Minute)}, Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1")}}, []interface{}{"node-1", "node-1", "7m"}},
		{"unheld", &coordinationv1.Lease{ObjectMeta: om("free")}, []interface{}{"free", "", unknown}},
	})

	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: om("some-hpa"),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "ReplicationController", Name: "some-rc"},
			MinReplicas:    ptr(int32(2)), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{AverageUtilization: ptr(int32(80))}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Target: autoscalingv2.MetricTarget{AverageValue: resource.NewMilliQuantity(100, resource.DecimalSI)}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Target: autoscalingv2.MetricTarget{Value: resource.NewMilliQuantity(100, resource.DecimalSI)}}},
			},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: 4,
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr(int32(50))}}},
			},
		},
	}
	single := func(m autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: om("one"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 3,
			Metrics: []autoscalingv2.MetricSpec{m},
		}}
	}
	hpaGK := schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}
	runRows(t, hpaGK, []rowCase{
		{"three metrics, two shown", hpa, []interface{}{"some-hpa", "ReplicationController/some-rc", "cpu: 50%/80%, <unknown>/100m + 1 more...", "2", int64(10), int64(4), unknown}},
		{"no metrics", &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: om("none"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 10}},
			[]interface{}{"none", "Deployment/web", none, unset, int64(10), int64(0), unknown}},
		{"container resource without target utilisation", single(autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceMemory, Container: "app"}}),
			[]interface{}{"one", "Deployment/web", "memory: <unknown>/<auto>", unset, int64(3), int64(0), unknown}},
		{"object average value", single(autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Target: autoscalingv2.MetricTarget{AverageValue: resource.NewQuantity(5, resource.DecimalSI)}}}),
			[]interface{}{"one", "Deployment/web", "<unknown>/5 (avg)", unset, int64(3), int64(0), unknown}},
		{"unknown metric type", single(autoscalingv2.MetricSpec{Type: "Bogus"}),
			[]interface{}{"one", "Deployment/web", "<unknown type>", unset, int64(3), int64(0), unknown}},
	})

	runRows(t, schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}, []rowCase{
		{"min available", &policyv1.PodDisruptionBudget{ObjectMeta: om("pdb1"), Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(22))}, Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 5}},
			[]interface{}{"pdb1", "22", "N/A", int64(5), unknown}},
		{"max unavailable percent", &policyv1.PodDisruptionBudget{ObjectMeta: om("pdb2"), Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr(intstr.FromString("10%"))}},
			[]interface{}{"pdb2", "N/A", "10%", int64(0), unknown}},
	})

	runRows(t, schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, []rowCase{
		{"ports and endpoints", &discoveryv1.EndpointSlice{
			ObjectMeta:  om("svc-abc"),
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Port: ptr(int32(80))}, {Name: ptr("http")}, {}, {Port: ptr(int32(9))}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1", "10.1.0.2"}}, {Addresses: []string{"10.1.0.3"}}},
		}, []interface{}{"svc-abc", "IPv4", "80,http,* + 1 more...", "10.1.0.1,10.1.0.2,10.1.0.3", unknown}},
		{"empty", &discoveryv1.EndpointSlice{ObjectMeta: om("e"), AddressType: discoveryv1.AddressTypeFQDN}, []interface{}{"e", "FQDN", unset, unset, unknown}},
	})

	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "test1", CreationTimestamp: ago(10 * 365 * 24 * time.Hour)},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("foo"),
			Rules:            []networkingv1.IngressRule{{Host: "a.example"}, {}, {Host: "b.example"}, {Host: "c.example"}, {Host: "d.example"}},
			TLS:              []networkingv1.IngressTLS{{}},
		},
		Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "2.3.4.5", Hostname: "localhost.localdomain"}}}},
	}
	runRows(t, schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, []rowCase{
		{"hosts truncated, tls ports", ing, []interface{}{"test1", "foo", "a.example,b.example,c.example + 2 more...", "2.3.4.5", "80, 443", "10y"}},
		{"no class or rules", &networkingv1.Ingress{ObjectMeta: om("x")}, []interface{}{"x", none, "*", "", "80", unknown}},
	})
	runRows(t, schema.GroupKind{Group: "networking.k8s.io", Kind: "IngressClass"}, []rowCase{
		{"params with api group", &networkingv1.IngressClass{ObjectMeta: om("test1"), Spec: networkingv1.IngressClassSpec{Controller: "example.com/controller", Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr("example.com"), Kind: "customgroup", Name: "example"}}},
			[]interface{}{"test1", "example.com/controller", "customgroup.example.com/example", unknown}},
		{"no params", &networkingv1.IngressClass{ObjectMeta: om("test2"), Spec: networkingv1.IngressClassSpec{Controller: "c2"}}, []interface{}{"test2", "c2", none, unknown}},
	})
	runRows(t, schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}, []rowCase{
		{"selector", &networkingv1.NetworkPolicy{ObjectMeta: om("np"), Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}}, []interface{}{"np", "app=db", unknown}},
		{"all pods", &networkingv1.NetworkPolicy{ObjectMeta: om("all")}, []interface{}{"all", none, unknown}},
	})

	wait := storagev1.VolumeBindingWaitForFirstConsumer
	retain := corev1.PersistentVolumeReclaimRetain
	runRows(t, schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}, []rowCase{
		{"default class", &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "kubernetes.io/no-provisioner"},
			[]interface{}{"standard (default)", "kubernetes.io/no-provisioner", "Delete", "Immediate", false, unknown}},
		{"explicit policies", &storagev1.StorageClass{ObjectMeta: om("fast"), Provisioner: "csi.example", ReclaimPolicy: &retain, VolumeBindingMode: &wait, AllowVolumeExpansion: ptr(true)},
			[]interface{}{"fast", "csi.example", "Retain", "WaitForFirstConsumer", true, unknown}},
	})

	runRows(t, schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}, []rowCase{
		{"with preemption policy", &schedulingv1.PriorityClass{ObjectMeta: om("high"), Value: 1000000, GlobalDefault: true, PreemptionPolicy: ptr(corev1.PreemptNever)},
			[]interface{}{"high", int64(1000000), true, unknown, "Never"}},
	})

	subjects := []rbacv1.Subject{
		{Kind: "User", Name: "alice"}, {Kind: "User", Name: "bob"},
		{Kind: "Group", Name: "devs"},
		{Kind: "ServiceAccount", Namespace: "kube-system", Name: "ctrl"},
		{Kind: "Robot", Name: "ignored"},
	}
	runRows(t, schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}, []rowCase{
		{"subjects by kind", &rbacv1.ClusterRoleBinding{ObjectMeta: om("admins"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: subjects},
			[]interface{}{"admins", "ClusterRole/cluster-admin", unknown, "alice, bob", "devs", "kube-system/ctrl"}},
	})
	runRows(t, schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, []rowCase{
		{"no subjects", &rbacv1.RoleBinding{ObjectMeta: om("rb"), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "reader"}},
			[]interface{}{"rb", "Role/reader", unknown, "", "", ""}},
	})
}
