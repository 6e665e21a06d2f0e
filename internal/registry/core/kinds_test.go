package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestConfigMap(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: meta("cfg")}
	if got := createErrors(t, "ConfigMap", cm); got != "" || cm.Data == nil {
		t.Fatalf("valid configmap: errors %q, data %v", got, cm.Data)
	}
	tests := []struct {
		name string
		cm   *corev1.ConfigMap
		want string
	}{
		{"bad key", &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"a/b": "x"}},
			`data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`},
		{"too large", &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"big": strings.Repeat("x", 1024*1024+1)}},
			"[]: Too long: may not be more than 1048576 bytes"},
		{"key in both", &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"k": "x"}, BinaryData: map[string][]byte{"k": nil}},
			`data[k]: Invalid value: "k": duplicate of key present in binaryData`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := createErrors(t, "ConfigMap", tc.cm); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	old := &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"k": "v"}, Immutable: ptr.To(true)}
	upd := old.DeepCopy()
	upd.Data["k"] = "w"
	if got, want := updateErrors(t, "ConfigMap", upd, old), "data: Forbidden: field is immutable when `immutable` is set"; got != want {
		t.Errorf("immutable update:\n got %s\nwant %s", got, want)
	}
}

func TestSecret(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: meta("s"), StringData: map[string]string{"password": "hunter2"}}
	if got := createErrors(t, "Secret", s); got != "" {
		t.Fatalf("valid secret: %s", got)
	}
	if s.Type != corev1.SecretTypeOpaque || string(s.Data["password"]) != "hunter2" || s.StringData != nil {
		t.Errorf("defaults: type=%q data=%v stringData=%v", s.Type, s.Data, s.StringData)
	}
	tests := []struct {
		name string
		s    *corev1.Secret
		want string
	}{
		{"tls missing key", &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("c")}},
			"data[tls.key]: Required value"},
		{"dockerconfigjson not json", &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{")}},
			`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input`},
		{"service account token", &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeServiceAccountToken},
			"metadata.annotations[kubernetes.io/service-account.name]: Required value"},
		{"basic auth empty", &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeBasicAuth},
			"[data[username]: Required value, data[password]: Required value]"},
		{"too large", &corev1.Secret{ObjectMeta: meta("s"), Data: map[string][]byte{"big": make([]byte, 1024*1024+1)}},
			"data: Too long: may not be more than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := createErrors(t, "Secret", tc.s); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	old := s.DeepCopy()
	old.Immutable = ptr.To(true)
	upd := old.DeepCopy()
	upd.Type = corev1.SecretTypeBasicAuth
	upd.Data = map[string][]byte{"username": []byte("u")}
	want := `[type: Invalid value: "kubernetes.io/basic-auth": field is immutable, data: Forbidden: field is immutable when ` + "`immutable`" + ` is set]`
	if got := updateErrors(t, "Secret", upd, old); got != want {
		t.Errorf("update:\n got %s\nwant %s", got, want)
	}
	if got := hooks(t, "Secret").Fields(s)["type"]; got != "Opaque" {
		t.Errorf("type field = %q", got)
	}
}

func TestNamespace(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1"}}
	if got := createErrors(t, "Namespace", ns); got != "" {
		t.Fatalf("valid namespace: %s", got)
	}
	if ns.Status.Phase != corev1.NamespaceActive || !apiequality.Semantic.DeepEqual(ns.Spec.Finalizers, []corev1.FinalizerName{"kubernetes"}) ||
		ns.Labels["kubernetes.io/metadata.name"] != "team-a" {
		t.Errorf("defaults: %+v", ns)
	}
	bad := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}}
	want := `metadata.name: Invalid value: "team.a": must not contain dots`
	if got := createErrors(t, "Namespace", bad); got != want {
		t.Errorf("errors:\n got %s\nwant %s", got, want)
	}
	upd := ns.DeepCopy()
	upd.Spec.Finalizers = nil
	updateErrors(t, "Namespace", upd, ns)
	if len(upd.Spec.Finalizers) != 1 {
		t.Errorf("main-resource update changed finalizers: %v", upd.Spec.Finalizers)
	}
	term := ns.DeepCopy()
	term.Status.Phase = corev1.NamespaceTerminating
	want = `status.Phase: Invalid value: "Terminating": may only be 'Active' if ` + "`deletionTimestamp`" + ` is empty`
	if got := errString(hooks(t, "Namespace").ValidateStatusUpdate(term, ns)); got != want {
		t.Errorf("status:\n got %s\nwant %s", got, want)
	}
}

func TestNode(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", ResourceVersion: "1"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{"cpu": q("4"), "pods": q("110")}}}
	if got := createErrors(t, "Node", node); got != "" {
		t.Fatalf("valid node: %s", got)
	}
	if node.Status.Allocatable.Cpu().String() != "4" || node.Spec.PodCIDRs[0] != "10.244.1.0/24" {
		t.Errorf("defaults: allocatable=%v podCIDRs=%v", node.Status.Allocatable, node.Spec.PodCIDRs)
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Node)
		want   string
	}{
		{"bad cidr", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/33"} },
			`spec.podCIDRs[0]: Invalid value: "10.244.1.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`},
		{"bad taint effect", func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: "Never"}} },
			`metadata.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`},
		{"duplicate taint", func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}, {Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}
		}, `metadata.taints[1]: Duplicate value: {"key":"k","value":"v","effect":"NoSchedule"}: taints must be unique by key and effect pair`},
		{"fractional pods", func(n *corev1.Node) { n.Status.Capacity["pods"] = q("1.5") },
			`[status.capacity.pods: Invalid value: "1500m": must be an integer, status.allocatable.pods: Invalid value: "1500m": must be an integer]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Status: corev1.NodeStatus{Capacity: corev1.ResourceList{"pods": q("110")}}}
			tc.mutate(n)
			if got := createErrors(t, "Node", n); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	upd := node.DeepCopy()
	upd.Spec.PodCIDRs, upd.Spec.PodCIDR = []string{"10.244.2.0/24"}, ""
	want := `spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid`
	if got := updateErrors(t, "Node", upd, node); got != want {
		t.Errorf("update:\n got %s\nwant %s", got, want)
	}
	upd = node.DeepCopy()
	upd.Spec.Unschedulable = true
	if got := updateErrors(t, "Node", upd, node); got != "" {
		t.Errorf("cordon: %s", got)
	}
	if got := hooks(t, "Node").Fields(upd)["spec.unschedulable"]; got != "true" {
		t.Errorf("spec.unschedulable field = %q", got)
	}
}

func TestEvent(t *testing.T) {
	ev := func(mutate func(*corev1.Event)) *corev1.Event {
		e := &corev1.Event{ObjectMeta: meta("web.17a"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
			Reason: "Scheduled", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "default-scheduler"}}
		if mutate != nil {
			mutate(e)
		}
		return e
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Event)
		want   string
	}{
		{"valid", nil, ""},
		{"namespace mismatch", func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" },
			`involvedObject.namespace: Invalid value: "other": does not match event.namespace`},
		{"cluster object in default", func(e *corev1.Event) { e.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "n1"} }, ""},
		{"new-style without reporting fields", func(e *corev1.Event) { e.EventTime = metav1.NewMicroTime(metav1.Now().Time) },
			`[reportingController: Required value, reportingController: Invalid value: "": name part must be non-empty, ` +
				`reportingController: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), ` +
				`reportingInstance: Required value, action: Required value]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := createErrors(t, "Event", ev(tc.mutate)); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	f := hooks(t, "Event").Fields(ev(nil))
	if f["involvedObject.name"] != "web" || f["source"] != "default-scheduler" || f["reason"] != "Scheduled" || f["type"] != "Normal" {
		t.Errorf("fields = %v", f)
	}
}

func TestResourceQuotaAndLimitRange(t *testing.T) {
	rq := &corev1.ResourceQuota{ObjectMeta: meta("q"), Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": q("10"), "requests.cpu": q("4")}}}
	if got := createErrors(t, "ResourceQuota", rq); got != "" {
		t.Fatalf("valid quota: %s", got)
	}
	tests := []struct {
		name string
		spec corev1.ResourceQuotaSpec
		want string
	}{
		{"unknown resource", corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"gpus": q("1")}},
			`[spec.hard[gpus]: Invalid value: "gpus": must be a standard resource type or fully qualified, spec.hard[gpus]: Invalid value: "gpus": must be a standard resource for quota]`},
		{"fractional pods", corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": q("1.5")}},
			`spec.hard[pods]: Invalid value: "1500m": must be an integer`},
		{"best effort with cpu", corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"cpu": q("1")}, Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}},
			`spec.scopes: Invalid value: ["BestEffort"]: unsupported scope applied to resource`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := createErrors(t, "ResourceQuota", &corev1.ResourceQuota{ObjectMeta: meta("q"), Spec: tc.spec}); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}

	lr := &corev1.LimitRange{ObjectMeta: meta("lr"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": q("2")}, Min: corev1.ResourceList{"memory": q("64Mi")},
	}}}}
	if got := createErrors(t, "LimitRange", lr); got != "" {
		t.Fatalf("valid limit range: %s", got)
	}
	item := lr.Spec.Limits[0]
	if item.Default.Cpu().String() != "2" || item.DefaultRequest.Cpu().String() != "2" || item.DefaultRequest.Memory().String() != "64Mi" {
		t.Errorf("limit range defaults: %+v", item)
	}
	bad := &corev1.LimitRange{ObjectMeta: meta("lr"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypePod, Min: corev1.ResourceList{"cpu": q("2")}, Max: corev1.ResourceList{"cpu": q("1")},
	}}}}
	want := `spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1`
	if got := createErrors(t, "LimitRange", bad); got != want {
		t.Errorf("errors:\n got %s\nwant %s", got, want)
	}
}

func TestPersistentVolumes(t *testing.T) {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:               corev1.ResourceList{"storage": q("10Gi")},
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
	}}
	if got := createErrors(t, "PersistentVolume", pv); got != "" {
		t.Fatalf("valid pv: %s", got)
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pv.Status.Phase != corev1.VolumePending {
		t.Errorf("pv defaults: %+v", pv)
	}
	noSource := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv2"}}
	want := `[spec.accessModes: Required value, spec.capacity: Required value, spec.capacity: Unsupported value: null: supported values: "storage", spec: Required value: must specify a volume type]`
	if got := createErrors(t, "PersistentVolume", noSource); got != want {
		t.Errorf("errors:\n got %s\nwant %s", got, want)
	}

	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: meta("data"), Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": q("1Gi")}},
	}}
	if got := createErrors(t, "PersistentVolumeClaim", pvc); got != "" {
		t.Fatalf("valid pvc: %s", got)
	}
	if *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("pvc defaults: %+v", pvc)
	}
	empty := &corev1.PersistentVolumeClaim{ObjectMeta: meta("data")}
	want = "[spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]"
	if got := createErrors(t, "PersistentVolumeClaim", empty); got != want {
		t.Errorf("errors:\n got %s\nwant %s", got, want)
	}

	bound := pvc.DeepCopy()
	bound.Spec.VolumeName = "pv1"
	bound.Status.Phase = corev1.ClaimBound
	bound.Status.Capacity = corev1.ResourceList{"storage": q("1Gi")}
	grow := bound.DeepCopy()
	grow.Spec.Resources.Requests["storage"] = q("2Gi")
	if got := updateErrors(t, "PersistentVolumeClaim", grow, pvc); got != "" {
		t.Errorf("bind and grow: %s", got)
	}
	change := bound.DeepCopy()
	change.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	got := updateErrors(t, "PersistentVolumeClaim", change, bound)
	if prefix := "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"; !strings.HasPrefix(got, prefix) {
		t.Errorf("access mode change:\n got %s\nwant prefix %s", got, prefix)
	}
	shrink := bound.DeepCopy()
	shrink.Spec.Resources.Requests["storage"] = q("512Mi")
	want = "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
	if got := updateErrors(t, "PersistentVolumeClaim", shrink, bound); got != want {
		t.Errorf("shrink:\n got %s\nwant %s", got, want)
	}
}

func TestServiceAccount(t *testing.T) {
	if got := createErrors(t, "ServiceAccount", &corev1.ServiceAccount{ObjectMeta: meta("builder")}); got != "" {
		t.Errorf("valid: %s", got)
	}
	want := `metadata.name: Invalid value: "Builder": ` + dns1123SubdomainMsg
	if got := createErrors(t, "ServiceAccount", &corev1.ServiceAccount{ObjectMeta: meta("Builder")}); got != want {
		t.Errorf("errors:\n got %s\nwant %s", got, want)
	}
}

func TestStrategiesCoverKinds(t *testing.T) {
	kinds := []string{"Pod", "PodTemplate", "ReplicationController", "Service", "Endpoints", "Node", "Namespace", "ConfigMap",
		"Secret", "ServiceAccount", "Event", "ResourceQuota", "LimitRange", "PersistentVolume", "PersistentVolumeClaim"}
	s := Strategies()
	if len(s) != len(kinds) {
		t.Errorf("Strategies has %d kinds, want %d", len(s), len(kinds))
	}
	for _, k := range kinds {
		f := hooks(t, k)
		if f.Validate == nil || f.ValidateUpdate == nil {
			t.Errorf("%s: Validate and ValidateUpdate must be set", k)
		}
	}
}
