package printers

import (
	"errors"
	"reflect"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// now is the fixed reference time every test prints against.
var now = time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)

// ago returns a metav1.Time d before now.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func ptr[T any](v T) *T { return &v }

// zeroObjects lists every kind For prints with a zero value of the Go type
// its Row expects.
func zeroObjects() map[schema.GroupKind]runtime.Object {
	return map[schema.GroupKind]runtime.Object{
		{Kind: "Pod"}:                   &corev1.Pod{},
		{Kind: "PodTemplate"}:           &corev1.PodTemplate{},
		{Kind: "Node"}:                  &corev1.Node{},
		{Kind: "Namespace"}:             &corev1.Namespace{},
		{Kind: "Service"}:               &corev1.Service{},
		{Kind: "Endpoints"}:             &corev1.Endpoints{},
		{Kind: "Event"}:                 &corev1.Event{},
		{Kind: "ConfigMap"}:             &corev1.ConfigMap{},
		{Kind: "Secret"}:                &corev1.Secret{},
		{Kind: "ServiceAccount"}:        &corev1.ServiceAccount{},
		{Kind: "ReplicationController"}: &corev1.ReplicationController{},
		{Kind: "ResourceQuota"}:         &corev1.ResourceQuota{},
		{Kind: "PersistentVolume"}:      &corev1.PersistentVolume{},
		{Kind: "PersistentVolumeClaim"}: &corev1.PersistentVolumeClaim{},
		{Kind: "ComponentStatus"}:       &corev1.ComponentStatus{},

		{Group: "apps", Kind: "ReplicaSet"}:         &appsv1.ReplicaSet{},
		{Group: "apps", Kind: "Deployment"}:         &appsv1.Deployment{},
		{Group: "apps", Kind: "StatefulSet"}:        &appsv1.StatefulSet{},
		{Group: "apps", Kind: "DaemonSet"}:          &appsv1.DaemonSet{},
		{Group: "apps", Kind: "ControllerRevision"}: &appsv1.ControllerRevision{},

		{Group: "batch", Kind: "Job"}:                                                   &batchv1.Job{},
		{Group: "batch", Kind: "CronJob"}:                                               &batchv1.CronJob{},
		{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:                         &autoscalingv2.HorizontalPodAutoscaler{},
		{Group: "policy", Kind: "PodDisruptionBudget"}:                                  &policyv1.PodDisruptionBudget{},
		{Group: "coordination.k8s.io", Kind: "Lease"}:                                   &coordinationv1.Lease{},
		{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:                              &discoveryv1.EndpointSlice{},
		{Group: "networking.k8s.io", Kind: "Ingress"}:                                   &networkingv1.Ingress{},
		{Group: "networking.k8s.io", Kind: "IngressClass"}:                              &networkingv1.IngressClass{},
		{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:                             &networkingv1.NetworkPolicy{},
		{Group: "storage.k8s.io", Kind: "StorageClass"}:                                 &storagev1.StorageClass{},
		{Group: "storage.k8s.io", Kind: "CSINode"}:                                      &storagev1.CSINode{},
		{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:                             &storagev1.VolumeAttachment{},
		{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                             &schedulingv1.PriorityClass{},
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:                       &rbacv1.RoleBinding{},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                &rbacv1.ClusterRoleBinding{},
		{Group: "events.k8s.io", Kind: "Event"}:                                         &corev1.Event{},
		{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                    &nodev1.RuntimeClass{},
		{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   &admissionregistrationv1.MutatingWebhookConfiguration{},
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: &admissionregistrationv1.ValidatingWebhookConfiguration{},
		{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:               &certificatesv1.CertificateSigningRequest{},
	}
}

// checkCells fails unless cells has one JSON primitive per column.
func checkCells(t *testing.T, p *Printer, cells []interface{}) {
	t.Helper()
	if len(cells) != len(p.Columns) {
		t.Fatalf("got %d cells for %d columns: %#v", len(cells), len(p.Columns), cells)
	}
	for i, c := range cells {
		switch c.(type) {
		case string, int64, int32, bool, float64:
		default:
			t.Errorf("cell %d (%s) has non-primitive type %T", i, p.Columns[i].Name, c)
		}
	}
}

func TestZeroValueObjectsPrintOneCellPerColumn(t *testing.T) {
	for gk, obj := range zeroObjects() {
		t.Run(gk.String(), func(t *testing.T) {
			p := For(gk)
			if p == nil {
				t.Fatal("For returned nil")
			}
			cells, err := p.Row(obj, now)
			if err != nil {
				t.Fatalf("Row: %v", err)
			}
			checkCells(t, p, cells)
			for _, c := range p.Columns {
				if c.Name == "" || c.Type == "" {
					t.Errorf("column %+v lacks a name or type", c)
				}
			}
		})
	}
}

func TestForKindsWithoutPrinter(t *testing.T) {
	for _, gk := range []schema.GroupKind{
		{Group: "rbac.authorization.k8s.io", Kind: "Role"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
		{Kind: "LimitRange"},
		{Kind: "NoSuchKind"},
		{Group: "example.com", Kind: "Widget"},
		{Group: "apps", Kind: "Pod"},
	} {
		t.Run(gk.String(), func(t *testing.T) {
			if p := For(gk); p != nil {
				t.Fatalf("For(%v) = printer with columns %v, want nil", gk, p.Columns)
			}
		})
	}
}

func TestRowRejectsWrongType(t *testing.T) {
	tests := []struct {
		name string
		gk   schema.GroupKind
		obj  runtime.Object
	}{
		{"pod printer given node", schema.GroupKind{Kind: "Pod"}, &corev1.Node{}},
		{"pod printer given nil pod", schema.GroupKind{Kind: "Pod"}, (*corev1.Pod)(nil)},
		{"deployment printer given replicaset", schema.GroupKind{Group: "apps", Kind: "Deployment"}, &appsv1.ReplicaSet{}},
		{"events.k8s.io printer given pod", schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, &corev1.Pod{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := For(tt.gk).Row(tt.obj, now)
			if !errors.Is(err, ErrUnexpectedType) {
				t.Fatalf("err = %v, want ErrUnexpectedType", err)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	wantCols := []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
		{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
	if !reflect.DeepEqual(p.Columns, wantCols) {
		t.Errorf("columns = %#v, want %#v", p.Columns, wantCols)
	}
	created := metav1.NewTime(time.Date(2025, 7, 1, 8, 30, 0, 0, time.FixedZone("CEST", 2*3600)))
	tests := []struct {
		name string
		obj  runtime.Object
		want []interface{}
	}{
		{"role", &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", CreationTimestamp: created}}, []interface{}{"reader", "2025-07-01T06:30:00Z"}},
		{"limit range without timestamp", &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits"}}, []interface{}{"limits", "0001-01-01T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Row(tt.obj, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cells = %#v, want %#v", got, tt.want)
			}
		})
	}
	if _, err := p.Row(&metav1.Status{}, now); !errors.Is(err, ErrUnexpectedType) {
		t.Errorf("Row(Status) err = %v, want ErrUnexpectedType", err)
	}
}

// columnSummary is the client-visible shape of a column minus its
// description.
type columnSummary struct {
	Name     string
	Type     string
	Format   string
	Priority int32
}

func summarize(cols []metav1.TableColumnDefinition) []columnSummary {
	out := make([]columnSummary, len(cols))
	for i, c := range cols {
		out[i] = columnSummary{c.Name, c.Type, c.Format, c.Priority}
	}
	return out
}

func TestColumns(t *testing.T) {
	name := columnSummary{"Name", "string", "name", 0}
	age := columnSummary{"Age", "string", "", 0}
	s := func(n string) columnSummary { return columnSummary{n, "string", "", 0} }
	w := func(n string) columnSummary { return columnSummary{n, "string", "", 1} }
	i := func(n string) columnSummary { return columnSummary{n, "integer", "", 0} }
	tests := []struct {
		gk   schema.GroupKind
		want []columnSummary
	}{
		{schema.GroupKind{Kind: "Pod"}, []columnSummary{name, s("Ready"), s("Status"), s("Restarts"), age, w("IP"), w("Node"), w("Nominated Node"), w("Readiness Gates")}},
		{schema.GroupKind{Kind: "Node"}, []columnSummary{name, s("Status"), s("Roles"), age, s("Version"), w("Internal-IP"), w("External-IP"), w("OS-Image"), w("Kernel-Version"), w("Container-Runtime")}},
		{schema.GroupKind{Kind: "Event"}, []columnSummary{s("Last Seen"), s("Type"), s("Reason"), s("Object"), w("Subobject"), w("Source"), s("Message"), w("First Seen"), w("Count"), {"Name", "string", "name", 1}}},
		{schema.GroupKind{Kind: "Service"}, []columnSummary{name, s("Type"), s("Cluster-IP"), s("External-IP"), s("Port(s)"), age, w("Selector")}},
		{schema.GroupKind{Kind: "ResourceQuota"}, []columnSummary{name, s("Request"), s("Limit"), age}},
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, []columnSummary{name, s("Ready"), s("Up-to-date"), s("Available"), age, w("Containers"), w("Images"), w("Selector")}},
		{schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, []columnSummary{name, i("Desired"), i("Current"), i("Ready"), age, w("Containers"), w("Images"), w("Selector")}},
		{schema.GroupKind{Group: "batch", Kind: "CronJob"}, []columnSummary{name, s("Schedule"), s("Timezone"), {"Suspend", "boolean", "", 0}, i("Active"), s("Last Schedule"), age, w("Containers"), w("Images"), w("Selector")}},
		{schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}, []columnSummary{name, s("Role"), age, w("Users"), w("Groups"), w("ServiceAccounts")}},
		{schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, []columnSummary{s("Last Seen"), s("Type"), s("Reason"), s("Object"), w("Subobject"), w("Source"), s("Message"), w("First Seen"), w("Count"), {"Name", "string", "name", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.gk.String(), func(t *testing.T) {
			if got := summarize(For(tt.gk).Columns); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("columns =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestColumnDescriptionsFromAPIDocs(t *testing.T) {
	tests := []struct {
		gk     schema.GroupKind
		column string
		want   string
	}{
		{schema.GroupKind{Kind: "Pod"}, "Age", metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
		{schema.GroupKind{Kind: "Pod"}, "Node", corev1.PodSpec{}.SwaggerDoc()["nodeName"]},
		{schema.GroupKind{Kind: "Pod"}, "Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
		{schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, "Holder", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
		{schema.GroupKind{Kind: "Node"}, "Status", "The status of the node"},
	}
	for _, tt := range tests {
		t.Run(tt.gk.String()+"/"+tt.column, func(t *testing.T) {
			if tt.want == "" {
				t.Fatal("reference description is empty; test would prove nothing")
			}
			for _, c := range For(tt.gk).Columns {
				if c.Name == tt.column {
					if c.Description != tt.want {
						t.Errorf("description = %q, want %q", c.Description, tt.want)
					}
					return
				}
			}
			t.Errorf("no column %q", tt.column)
		})
	}
}

// rowCase is one golden row: an object and the cells upstream prints.
type rowCase struct {
	name string
	obj  runtime.Object
	want []interface{}
}

// runRows prints each case with the printer for gk and compares cells.
func runRows(t *testing.T, gk schema.GroupKind, cases []rowCase) {
	t.Helper()
	p := For(gk)
	if p == nil {
		t.Fatalf("no printer for %v", gk)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Row(tc.obj, now)
			if err != nil {
				t.Fatalf("Row: %v", err)
			}
			checkCells(t, p, got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("cells\n got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}
