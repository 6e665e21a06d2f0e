package replicaset_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/manager"
	"kplane/internal/controlplane"
)

// cluster is one control plane plus a controller manager running the
// replicaset and replicationcontroller controllers, shared by the
// integration tests of this package.
type cluster struct {
	cp       *controlplane.ControlPlane
	adminCfg *rest.Config
	admin    kubernetes.Interface
}

var (
	shared     *cluster
	sharedErr  error
	sharedOnce sync.Once
	stopShared func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stopShared != nil {
		stopShared()
	}
	os.Exit(code)
}

// startCluster starts the shared cluster on first use.
func startCluster(t testing.TB) *cluster {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kplane-rs-it-")
		if err != nil {
			sharedErr = err
			return
		}
		var c *cluster
		var stop func()
		c, stop, sharedErr = newCluster(dir, nil, false, 0)
		shared = c
		stopShared = func() { stop(); _ = os.RemoveAll(dir) }
	})
	if sharedErr != nil {
		t.Fatalf("start cluster: %v", sharedErr)
	}
	return shared
}

// newCluster starts a control plane in dir and a controller manager with
// the two controllers. wrap, if set, wraps the manager's transport;
// rootCreds makes every controller use the manager's own credentials (so
// wrap sees all of their requests); it then runs as the admin, since the
// manager's own role, like upstream's, cannot write pods. qps is the
// manager's --kube-api-qps (burst twice that); 0 keeps its default.
func newCluster(dir string, wrap func(rest.Config) rest.Config, rootCreds bool, qps float32) (*cluster, func(), error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	// The control plane outlives the manager, so that the manager's last
	// writes (events) still reach it on shutdown.
	cp, err := controlplane.Start(context.Background(), controlplane.Config{DataDir: dir, Port: 0, Logger: log, EtcdUnsafeNoFsync: true})
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("control plane: %w", err)
	}
	adminCfg, err := cp.AdminConfig()
	if err != nil {
		cancel()
		cp.Stop()
		return nil, nil, err
	}
	adminCfg.QPS, adminCfg.Burst = 500, 1000
	admin := kubernetes.NewForConfigOrDie(adminCfg)
	cmCfg, err := clientcmd.BuildConfigFromFlags("", cp.ControllerManagerKubeconfig())
	if err != nil {
		cancel()
		cp.Stop()
		return nil, nil, err
	}
	if rootCreds {
		cmCfg = rest.CopyConfig(adminCfg)
		cmCfg.QPS, cmCfg.Burst = 0, 0 // the manager's defaults
	}
	if wrap != nil {
		*cmCfg = wrap(*cmCfg)
	}
	m, err := manager.New(manager.Config{
		RESTConfig: cmCfg, Controllers: []string{"replicaset", "replicationcontroller"},
		DisableLeaderElection: true, DisableServiceAccountCredentials: rootCreds, Logger: log,
		QPS: qps, Burst: int(2 * qps),
	})
	if err != nil {
		cancel()
		cp.Stop()
		return nil, nil, fmt.Errorf("manager: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-done:
		cancel()
		cp.Stop()
		return nil, nil, fmt.Errorf("manager exited: %w", err)
	case <-time.After(60 * time.Second):
		cancel()
		cp.Stop()
		return nil, nil, fmt.Errorf("manager not ready")
	}
	stop := func() {
		cancel()
		<-done
		cp.Stop()
	}
	return &cluster{cp: cp, adminCfg: adminCfg, admin: admin}, stop, nil
}

// namespace creates a fresh namespace for one test.
func (c *cluster) namespace(t testing.TB, name string) string {
	t.Helper()
	_, err := c.admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// podCounter counts every distinct pod ever seen in a namespace, to prove
// that no pod was created twice.
type podCounter struct {
	mu   sync.Mutex // guards seen
	seen map[types.UID]bool
	inf  cache.SharedIndexInformer
}

func (c *cluster) countPods(t testing.TB, ns string) *podCounter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := informers.NewSharedInformerFactoryWithOptions(c.admin, 0, informers.WithNamespace(ns))
	pc := &podCounter{seen: map[types.UID]bool{}, inf: f.Core().V1().Pods().Informer()}
	_, _ = pc.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok {
			pc.mu.Lock()
			pc.seen[p.UID] = true
			pc.mu.Unlock()
		}
	}})
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pc.inf.HasSynced) {
		t.Fatal("pod counter did not sync")
	}
	return pc
}

// total is how many distinct pods were ever seen.
func (pc *podCounter) total() int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return len(pc.seen)
}

// live returns the pods in the counter's cache that are not terminating.
func (pc *podCounter) live() []*corev1.Pod {
	var out []*corev1.Pod
	for _, o := range pc.inf.GetStore().List() {
		if p := o.(*corev1.Pod); p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// poll waits up to a minute for cond.
func poll(t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func replicaSet(ns, name string, n int32, app string) *appsv1.ReplicaSet {
	labels := map[string]string{"app": app}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(n),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

func replicationController(ns, name string, n int32, app string) *corev1.ReplicationController {
	labels := map[string]string{"app": app}
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To(n),
			Selector: labels,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

// markReady plays kubelet: the pod runs and is Ready since now.
func markReady(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod) error {
	p, err := c.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	_, err = c.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// controllerOf returns the controller reference of pod, nil if none, and
// how many controller references it has.
func controllerOf(pod *corev1.Pod) (*metav1.OwnerReference, int) {
	var ref *metav1.OwnerReference
	n := 0
	for i := range pod.OwnerReferences {
		if r := &pod.OwnerReferences[i]; r.Controller != nil && *r.Controller {
			ref, n = r, n+1
		}
	}
	return ref, n
}
