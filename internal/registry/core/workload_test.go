package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func testTemplate() *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
	}
}

func TestPodTemplateHelpers(t *testing.T) {
	tpl := testTemplate()
	DefaultPodTemplateSpec(tpl)
	if tpl.Spec.RestartPolicy != corev1.RestartPolicyAlways || tpl.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("template not defaulted: %+v", tpl.Spec)
	}
	if tpl.Spec.EnableServiceLinks != nil {
		t.Errorf("enableServiceLinks is a pod-only default, got %v", *tpl.Spec.EnableServiceLinks)
	}
	path := field.NewPath("spec", "template")
	tests := []struct {
		name   string
		mutate func(*corev1.PodTemplateSpec)
		want   string
	}{
		{"valid", func(*corev1.PodTemplateSpec) {}, ""},
		{"bad label", func(t *corev1.PodTemplateSpec) { t.Labels = map[string]string{"app": "web!"} },
			`spec.template.labels: Invalid value: "web!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{"missing image", func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Image = "" }, "spec.template.spec.containers[0].image: Required value"},
		{"ephemeral containers", func(t *corev1.PodTemplateSpec) {
			t.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "d", Image: "busybox", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
		}, "spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"},
		{"host network template may leave hostPort unset", func(t *corev1.PodTemplateSpec) {
			t.Spec.HostNetwork = true
			t.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl := testTemplate()
			tc.mutate(tpl)
			DefaultPodTemplateSpec(tpl)
			if got := errString(ValidatePodTemplateSpec(tpl, path)); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}

	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}
	want := `spec.template.metadata.labels: Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"
	if got := errString(ValidateLabelSelectorMatchesTemplate(sel, tpl.Labels, path.Child("metadata", "labels"))); got != want {
		t.Errorf("selector mismatch:\n got %s\nwant %s", got, want)
	}
	if got := errString(ValidateLabelSelectorMatchesTemplate(&metav1.LabelSelector{MatchLabels: tpl.Labels}, tpl.Labels, path)); got != "" {
		t.Errorf("matching selector: %s", got)
	}
	res := &corev1.ResourceRequirements{Requests: corev1.ResourceList{"memory": q("2Gi")}, Limits: corev1.ResourceList{"memory": q("1Gi")}}
	want = `resources.requests: Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi`
	if got := errString(ValidateResourceRequirements(res, field.NewPath("resources"))); got != want {
		t.Errorf("resources:\n got %s\nwant %s", got, want)
	}
}

func TestPodTemplateKind(t *testing.T) {
	pt := &corev1.PodTemplate{ObjectMeta: meta("tpl"), Template: *testTemplate()}
	if got := createErrors(t, "PodTemplate", pt); got != "" {
		t.Fatalf("valid template: %s", got)
	}
	bad := pt.DeepCopy()
	bad.Template.Spec.Containers = nil
	if got, want := updateErrors(t, "PodTemplate", bad, pt), "template.spec.containers: Required value"; got != want {
		t.Errorf("errors:\n got %s\nwant %s", got, want)
	}
	if bad.Generation != pt.Generation+1 {
		t.Errorf("generation = %d, want %d", bad.Generation, pt.Generation+1)
	}
}

func TestReplicationController(t *testing.T) {
	rc := &corev1.ReplicationController{ObjectMeta: meta("web"), Spec: corev1.ReplicationControllerSpec{Template: testTemplate()}}
	if got := createErrors(t, "ReplicationController", rc); got != "" {
		t.Fatalf("valid rc: %s", got)
	}
	if *rc.Spec.Replicas != 1 || rc.Spec.Selector["app"] != "web" || rc.Labels["app"] != "web" {
		t.Errorf("defaults: replicas=%d selector=%v labels=%v", *rc.Spec.Replicas, rc.Spec.Selector, rc.Labels)
	}
	tests := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		want   string
	}{
		{"selector mismatch", func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "api"} },
			`spec.template.metadata.labels: Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"},
		{"negative replicas", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = ptr.To[int32](-1) },
			"spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		{"restart never", func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		},
			`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`},
		{"no template", func(rc *corev1.ReplicationController) {
			rc.Spec.Template = nil
			rc.Spec.Selector = map[string]string{"app": "web"}
		}, "spec.template: Required value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &corev1.ReplicationController{ObjectMeta: meta("web"), Spec: corev1.ReplicationControllerSpec{Template: testTemplate()}}
			tc.mutate(rc)
			if got := createErrors(t, "ReplicationController", rc); got != tc.want {
				t.Errorf("errors:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	st := rc.DeepCopy()
	st.Status = corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 2}
	want := "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"
	if got := errString(hooks(t, "ReplicationController").ValidateStatusUpdate(st, rc)); got != want {
		t.Errorf("status errors:\n got %s\nwant %s", got, want)
	}
	if got := hooks(t, "ReplicationController").Fields(st)["status.replicas"]; got != "1" {
		t.Errorf("status.replicas field = %q", got)
	}
}
