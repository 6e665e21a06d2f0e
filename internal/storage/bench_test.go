package storage_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"kplane/internal/etcd"
	"kplane/internal/storage"
)

// benchPod builds a pod shaped like one a Deployment runs after the
// kubelet reported it: labels, two containers with resources, env, probes
// and a full status. It encodes to roughly 2 KB of protobuf, which is what
// the codec and store numbers are meant to reflect.
func benchPod(ns, name string, i int) *corev1.Pod {
	start := metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	container := func(cname, image string, port int32) corev1.Container {
		return corev1.Container{
			Name:  cname,
			Image: image,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
			Env: []corev1.EnvVar{
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "HTTP_PORT", Value: fmt.Sprint(port)},
				{Name: "UPSTREAM_URL", Value: "http://backend.default.svc.cluster.local:8080"},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(port)}},
				PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
			},
			TerminationMessagePath:   corev1.TerminationMessagePathDefault,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy:          corev1.PullIfNotPresent,
		}
	}
	cstatus := func(cname, image string) corev1.ContainerStatus {
		return corev1.ContainerStatus{
			Name: cname, Image: image, Ready: true, Started: new(true),
			ImageID:     "docker.io/library/" + image + "@sha256:0f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
			ContainerID: fmt.Sprintf("containerd://%064x", i),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
		}
	}
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: start}
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID(fmt.Sprintf("7d0c8a8e-0000-4000-8000-%012d", i)),
			CreationTimestamp: start,
			Labels: map[string]string{
				"app": "web", "tier": "frontend", "version": "v1.4.2", "pod-template-hash": "6d5f8c7b9d",
			},
			Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
		},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{container("web", "nginx:1.27.3", 8080), container("sidecar", "envoyproxy/envoy:v1.32.1", 9090)},
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: new(int64(30)),
			DNSPolicy:                     corev1.DNSClusterFirst,
			ServiceAccountName:            "default",
			NodeName:                      fmt.Sprintf("node-%d", i%100),
			SchedulerName:                 corev1.DefaultSchedulerName,
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: new(int64(300))},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: new(int64(300))},
			},
		},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{cond(corev1.PodInitialized), cond(corev1.PodReady), cond(corev1.ContainersReady), cond(corev1.PodScheduled)},
			HostIP:     "10.0.0.1", HostIPs: []corev1.HostIP{{IP: "10.0.0.1"}},
			PodIP: fmt.Sprintf("10.244.%d.%d", i/250%250, i%250+1), PodIPs: []corev1.PodIP{{IP: fmt.Sprintf("10.244.%d.%d", i/250%250, i%250+1)}},
			StartTime:         &start,
			QOSClass:          corev1.PodQOSBurstable,
			ContainerStatuses: []corev1.ContainerStatus{cstatus("web", "nginx:1.27.3"), cstatus("sidecar", "envoyproxy/envoy:v1.32.1")},
		},
	}
}

func newBenchCodec(b *testing.B) *storage.Codec {
	b.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatalf("scheme: %v", err)
	}
	return storage.NewCodec(scheme)
}

// BenchmarkCodec measures the etcd value codec on one realistic pod.
func BenchmarkCodec(b *testing.B) {
	codec := newBenchCodec(b)
	pod := benchPod("bench", "web-0", 0)
	data, err := codec.Encode(pod)
	if err != nil {
		b.Fatalf("encode: %v", err)
	}
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := codec.Encode(pod); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			obj, err := codec.Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			if obj.(*corev1.Pod).Name != "web-0" {
				b.Fatalf("decoded %v", obj)
			}
		}
	})
}

// BenchmarkStore measures Store against an embedded etcd with fsync on
// (the default, as in production), so Create includes a WAL fsync per
// commit; parallel creates share fsyncs through etcd's batching. One etcd
// serves all sub-benchmarks and is closed when they finish.
func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	srv, err := etcd.New(etcd.Config{DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	client, err := srv.Client()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Close() })
	store := storage.New(client, newBenchCodec(b), nil)

	var seq atomic.Int64
	create := func(ns string) error {
		n := int(seq.Add(1))
		name := fmt.Sprintf("web-%d", n)
		_, err := store.Create(ctx, "/registry/pods/"+ns+"/"+name, "pods", benchPod(ns, name, n))
		return err
	}
	b.Run("Create", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := create("create"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := create("create"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	const listed = 1000
	names := make([]string, listed)
	var wg sync.WaitGroup
	errs := make(chan error, listed)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < listed; i += 16 {
				names[i] = fmt.Sprintf("web-%d", i)
				key := "/registry/pods/list/" + names[i]
				if _, err := store.Create(ctx, key, "pods", benchPod("list", names[i], i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := store.Get(ctx, "/registry/pods/list/"+names[i%listed], "pods"); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("List1k", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := store.List(ctx, "/registry/pods/list/", "pods", storage.ListOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Items) != listed {
				b.Fatalf("listed %d pods, want %d", len(res.Items), listed)
			}
		}
	})
}
