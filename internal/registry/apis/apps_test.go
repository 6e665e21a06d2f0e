package apis

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var appLabels = map[string]string{"app": "web"}

func deployment(mut ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: meta("web"),
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: appLabels},
			Template: podTemplate(appLabels, ""),
		},
	}
	for _, m := range mut {
		m(d)
	}
	return d
}

func TestDeploymentDefaults(t *testing.T) {
	d := deployment()
	funcsFor(t, "apps", "Deployment").Default(d)
	pct := intstr.FromString("25%")
	want := appsv1.DeploymentSpec{
		Replicas: ptrTo(int32(1)),
		Strategy: appsv1.DeploymentStrategy{
			Type:          appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &pct, MaxSurge: &pct},
		},
		RevisionHistoryLimit:    ptrTo(int32(10)),
		ProgressDeadlineSeconds: ptrTo(int32(600)),
	}
	got := d.Spec
	got.Selector, got.Template = nil, corev1.PodTemplateSpec{}
	if !semanticEqual(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
	// Recreate gets no rollingUpdate block.
	r := deployment(func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType })
	funcsFor(t, "apps", "Deployment").Default(r)
	if r.Spec.Strategy.RollingUpdate != nil {
		t.Fatalf("Recreate got rollingUpdate %+v", r.Spec.Strategy.RollingUpdate)
	}
}

func TestDeploymentValidate(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*appsv1.Deployment)
		want []string
	}{
		{name: "valid"},
		{
			name: "selector does not match template",
			mut:  func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "other"} },
			want: []string{"spec.template.metadata.labels: Invalid value: {\"app\":\"other\"}: `selector` does not match template `labels`"},
		},
		{
			name: "missing selector",
			mut:  func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			want: []string{"spec.selector: Required value"},
		},
		{
			name: "empty selector",
			mut:  func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"spec.selector: Invalid value: {}: empty selector is invalid for deployment"},
		},
		{
			name: "negative replicas",
			mut:  func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(-1)) },
			want: []string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		},
		{
			name: "restart policy never",
			mut:  func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`},
		},
		{
			name: "both surge and unavailable zero",
			mut: func(d *appsv1.Deployment) {
				zero := intstr.FromInt32(0)
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &zero}
			},
			want: []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"},
		},
		{
			name: "maxUnavailable over 100%",
			mut: func(d *appsv1.Deployment) {
				v := intstr.FromString("110%")
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: &v}
			},
			want: []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "110%": must not be greater than 100%`},
		},
		{
			name: "recreate with rolling update",
			mut: func(d *appsv1.Deployment) {
				d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
			},
			want: []string{"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"},
		},
		{
			name: "progress deadline not above minReadySeconds",
			mut: func(d *appsv1.Deployment) {
				d.Spec.MinReadySeconds = 600
			},
			want: []string{"spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"},
		},
		{
			name: "bad name",
			mut:  func(d *appsv1.Deployment) { d.Name = "Web" },
			want: []string{`metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		},
		{
			name: "unqualified finalizer",
			mut:  func(d *appsv1.Deployment) { d.Finalizers = []string{"custom"} },
			want: []string{`metadata.finalizers[0]: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := deployment()
			if tc.mut != nil {
				tc.mut(d)
			}
			checkErrs(t, create(funcsFor(t, "apps", "Deployment"), d), tc.want...)
		})
	}
}

func TestWorkloadSelectorImmutable(t *testing.T) {
	newSel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "x"}}
	newLabels := map[string]string{"app": "web", "tier": "x"}
	want := `spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable`
	cases := []struct {
		name     string
		kind     string
		old, obj func() runtime.Object
	}{
		{
			name: "deployment", kind: "Deployment",
			old: func() runtime.Object { return deployment() },
			obj: func() runtime.Object {
				return deployment(func(d *appsv1.Deployment) { d.Spec.Selector = newSel; d.Spec.Template.Labels = newLabels })
			},
		},
		{
			name: "replicaset", kind: "ReplicaSet",
			old: func() runtime.Object { return replicaSet() },
			obj: func() runtime.Object {
				rs := replicaSet()
				rs.Spec.Selector, rs.Spec.Template.Labels = newSel, newLabels
				return rs
			},
		},
		{
			name: "daemonset", kind: "DaemonSet",
			old: func() runtime.Object { return daemonSet() },
			obj: func() runtime.Object {
				ds := daemonSet()
				ds.Spec.Selector, ds.Spec.Template.Labels = newSel, newLabels
				return ds
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := funcsFor(t, "apps", tc.kind)
			old := tc.old()
			checkErrs(t, create(f, old))
			checkErrs(t, update(f, tc.obj(), old), want)
			// Changing only replicas-like fields of the same object is fine.
			same := old.DeepCopyObject()
			checkErrs(t, update(f, same, old))
		})
	}
}

func TestDeploymentGenerationOnAnnotationChange(t *testing.T) {
	f := funcsFor(t, "apps", "Deployment")
	old := deployment()
	checkErrs(t, create(f, old))
	obj := old.DeepCopy()
	obj.Annotations = map[string]string{"deployment.kubernetes.io/revision": "2"}
	f.PrepareForUpdate(obj, old)
	if obj.Generation != old.Generation+1 {
		t.Fatalf("generation = %d, want %d", obj.Generation, old.Generation+1)
	}
}

func replicaSet() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: meta("web-1"),
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: appLabels},
			Template: podTemplate(appLabels, ""),
		},
	}
}

func TestReplicaSet(t *testing.T) {
	f := funcsFor(t, "apps", "ReplicaSet")
	rs := replicaSet()
	rs.Status.Replicas = 7
	checkErrs(t, create(f, rs))
	if *rs.Spec.Replicas != 1 {
		t.Fatalf("replicas default = %d, want 1", *rs.Spec.Replicas)
	}
	if rs.Status.Replicas != 0 {
		t.Fatalf("status not reset on create: %+v", rs.Status)
	}
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 3}
	if got := f.Fields(rs)["status.replicas"]; got != "3" {
		t.Fatalf("status.replicas field = %q", got)
	}
	checkErrs(t, f.ValidateStatusUpdate(rs, replicaSet()),
		"status.availableReplicas: Invalid value: 3: cannot be greater than readyReplicas")
}

func statefulSet() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: meta("db"),
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: appLabels},
			Template: podTemplate(appLabels, ""),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
			}},
		},
	}
}

func TestStatefulSetDefaults(t *testing.T) {
	s := statefulSet()
	funcsFor(t, "apps", "StatefulSet").Default(s)
	want := appsv1.StatefulSetSpec{
		Replicas:            ptrTo(int32(1)),
		PodManagementPolicy: appsv1.OrderedReadyPodManagement,
		UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
			Type:          appsv1.RollingUpdateStatefulSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptrTo(int32(0))},
		},
		RevisionHistoryLimit: ptrTo(int32(10)),
		PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		},
	}
	got := s.Spec
	if m := got.VolumeClaimTemplates[0].Spec.VolumeMode; m == nil || *m != corev1.PersistentVolumeFilesystem {
		t.Fatalf("volumeClaimTemplate volumeMode = %v", m)
	}
	got.Selector, got.Template, got.VolumeClaimTemplates = nil, corev1.PodTemplateSpec{}, nil
	if !semanticEqual(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestStatefulSetValidate(t *testing.T) {
	f := funcsFor(t, "apps", "StatefulSet")
	cases := []struct {
		name string
		mut  func(*appsv1.StatefulSet)
		want []string
	}{
		{name: "valid"},
		{
			name: "dns subdomain name is not a label",
			mut:  func(s *appsv1.StatefulSet) { s.Name = "db.prod" },
			want: []string{`metadata.name: Invalid value: "db.prod": must not contain dots`},
		},
		{
			name: "bad pod management policy",
			mut:  func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Sometimes" },
			want: []string{`spec.podManagementPolicy: Invalid value: "Sometimes": must be 'OrderedReady' or 'Parallel'`},
		},
		{
			name: "empty selector",
			mut:  func(s *appsv1.StatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"spec.selector: Invalid value: {}: empty selector is invalid for statefulset"},
		},
		{
			name: "retention policy",
			mut: func(s *appsv1.StatefulSet) {
				s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Keep"}
			},
			want: []string{`spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := statefulSet()
			if tc.mut != nil {
				tc.mut(s)
			}
			checkErrs(t, create(f, s), tc.want...)
		})
	}
	t.Run("forbidden update", func(t *testing.T) {
		old := statefulSet()
		checkErrs(t, create(f, old))
		obj := old.DeepCopy()
		obj.Spec.ServiceName = "other"
		checkErrs(t, update(f, obj, old), "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
		ok := old.DeepCopy()
		ok.Spec.Replicas = ptrTo(int32(5))
		ok.Spec.Template.Spec.Containers[0].Image = "busybox:2"
		checkErrs(t, update(f, ok, old))
	})
}

func daemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: meta("agent"),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: appLabels},
			Template: podTemplate(appLabels, ""),
		},
	}
}

func TestDaemonSet(t *testing.T) {
	f := funcsFor(t, "apps", "DaemonSet")
	ds := daemonSet()
	checkErrs(t, create(f, ds))
	one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
	wantStrategy := appsv1.DaemonSetUpdateStrategy{
		Type:          appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &zero},
	}
	if !semanticEqual(ds.Spec.UpdateStrategy, wantStrategy) || *ds.Spec.RevisionHistoryLimit != 10 {
		t.Fatalf("defaults: %+v revisionHistoryLimit %d", ds.Spec.UpdateStrategy, *ds.Spec.RevisionHistoryLimit)
	}
	if got := ds.Annotations[templateGenerationAnnotation]; got != "1" {
		t.Fatalf("template generation on create = %q, want 1", got)
	}
	obj := ds.DeepCopy()
	obj.Spec.Template.Spec.Containers[0].Image = "busybox:2"
	checkErrs(t, update(f, obj, ds))
	if got := obj.Annotations[templateGenerationAnnotation]; got != "2" {
		t.Fatalf("template generation after template change = %q, want 2", got)
	}

	bad := daemonSet()
	bad.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{
		Type:          appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &one},
	}
	checkErrs(t, create(f, bad), "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero")
}

func TestControllerRevision(t *testing.T) {
	f := funcsFor(t, "apps", "ControllerRevision")
	cr := &appsv1.ControllerRevision{ObjectMeta: meta("web-abc"), Revision: 1}
	checkErrs(t, create(f, cr), "data: Required value: data is mandatory")
	cr.Data = runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}
	checkErrs(t, create(f, cr))
	obj := cr.DeepCopy()
	obj.Data = runtime.RawExtension{Raw: []byte(`{"spec":{"x":1}}`)}
	errs := update(f, obj, cr)
	if len(errs) != 1 || errs[0].Field != "data" || errs[0].Detail != "field is immutable" {
		t.Fatalf("errs = %v", errs)
	}
}
