package endpoints_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

func ips(addrs []corev1.EndpointAddress) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, a.IP)
	}
	return out
}

func TestEndpointsAndSlicesFollowPods(t *testing.T) {
	ctx := context.Background()
	admin := controllertest.Start(t, manager.Config{Controllers: []string{"endpoints", "endpointslice"}}).Admin
	ns := "default"

	svc, err := admin.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"tier": "front"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http-port")},
			{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9100)},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setStatus := func(name, ip string, ready bool) {
		t.Helper()
		if err := controllertest.SetPodRunning(ctx, admin, ns, name, ready, ip); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"web-1", "web-2"} {
		_, err := admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "nginx",
				Ports: []corev1.ContainerPort{{Name: "http-port", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		setStatus(name, []string{"10.1.0.1", "10.1.0.2"}[i], i == 0)
	}
	// A pod of another service and a pod without an IP stay out.
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "other", Labels: map[string]string{"app": "other"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pending", Labels: map[string]string{"app": "web"}}},
	} {
		p.Spec.Containers = []corev1.Container{{Name: "c", Image: "nginx"}}
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var ep *corev1.Endpoints
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
			return cond(), nil
		}); err != nil {
			t.Fatalf("waiting for %s: %v (last endpoints: %+v)", what, err, ep)
		}
	}
	getEP := func() bool {
		got, err := admin.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		ep = got
		return err == nil
	}
	waitFor("endpoints with a ready and a not-ready address", func() bool {
		return getEP() && len(ep.Subsets) == 1 &&
			slices.Equal(ips(ep.Subsets[0].Addresses), []string{"10.1.0.1"}) &&
			slices.Equal(ips(ep.Subsets[0].NotReadyAddresses), []string{"10.1.0.2"})
	})
	sub := ep.Subsets[0]
	wantPorts := map[string]int32{"http": 8080, "metrics": 9100}
	if len(sub.Ports) != 2 {
		t.Fatalf("ports = %+v, want http:8080 (named targetPort) and metrics:9100", sub.Ports)
	}
	for _, p := range sub.Ports {
		if wantPorts[p.Name] != p.Port || p.Protocol != corev1.ProtocolTCP {
			t.Fatalf("port %+v, want %v", p, wantPorts)
		}
	}
	a := sub.Addresses[0]
	if a.TargetRef == nil || a.TargetRef.Kind != "Pod" || a.TargetRef.Name != "web-1" || a.NodeName == nil || *a.NodeName != "node-1" {
		t.Fatalf("address %+v lacks pod reference or node name", a)
	}
	if ep.Labels["tier"] != "front" || ep.Annotations[corev1.EndpointsLastChangeTriggerTime] == "" {
		t.Fatalf("endpoints labels %v / annotations %v: want service labels and the trigger time", ep.Labels, ep.Annotations)
	}

	var slice *discoveryv1.EndpointSlice
	getSlice := func() bool {
		list, err := admin.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil || len(list.Items) != 1 {
			return false
		}
		slice = &list.Items[0]
		return true
	}
	readyOf := func() map[string]bool {
		out := map[string]bool{}
		for _, e := range slice.Endpoints {
			out[e.Addresses[0]] = e.Conditions.Ready != nil && *e.Conditions.Ready
		}
		return out
	}
	waitFor("one endpoint slice with both pods", func() bool { return getSlice() && len(slice.Endpoints) == 2 })
	if r := readyOf(); !r["10.1.0.1"] || r["10.1.0.2"] {
		t.Fatalf("slice readiness %v, want 10.1.0.1 ready and 10.1.0.2 not", r)
	}
	if slice.AddressType != discoveryv1.AddressTypeIPv4 || slice.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" ||
		slice.Labels["tier"] != "front" || len(slice.OwnerReferences) != 1 || slice.OwnerReferences[0].UID != svc.UID {
		t.Fatalf("slice metadata: addressType %s labels %v owners %v", slice.AddressType, slice.Labels, slice.OwnerReferences)
	}
	slicePorts := map[string]int32{}
	for _, p := range slice.Ports {
		slicePorts[*p.Name] = *p.Port
	}
	if slicePorts["http"] != 8080 || slicePorts["metrics"] != 9100 {
		t.Fatalf("slice ports %v", slicePorts)
	}

	// The second pod becomes ready.
	setStatus("web-2", "10.1.0.2", true)
	waitFor("both addresses ready", func() bool {
		return getEP() && len(ep.Subsets) == 1 && len(ep.Subsets[0].NotReadyAddresses) == 0 &&
			slices.Equal(ips(ep.Subsets[0].Addresses), []string{"10.1.0.1", "10.1.0.2"})
	})
	waitFor("both slice endpoints ready", func() bool {
		if !getSlice() {
			return false
		}
		r := readyOf()
		return len(r) == 2 && r["10.1.0.1"] && r["10.1.0.2"]
	})

	// Relabelled out of the service, a pod leaves both.
	p, err := admin.CoreV1().Pods(ns).Get(ctx, "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels = map[string]string{"app": "retired"}
	if _, err := admin.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("relabelled pod removed", func() bool {
		return getEP() && len(ep.Subsets) == 1 && slices.Equal(ips(ep.Subsets[0].Addresses), []string{"10.1.0.2"}) &&
			getSlice() && len(slice.Endpoints) == 1
	})
}
