package replicaset_test

import (
	"context"
	"os"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

// cluster is a control plane plus a controller manager running the
// replicaset and replicationcontroller controllers.
type cluster struct {
	*controllertest.Env
	admin kubernetes.Interface
}

// shared is the cluster the integration tests of this package share.
var shared = controllertest.Shared{Config: manager.Config{Controllers: []string{"replicaset", "replicationcontroller"}}}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Stop()
	os.Exit(code)
}

// startCluster starts the shared cluster on first use.
func startCluster(t testing.TB) *cluster {
	t.Helper()
	env := shared.Get(t)
	return &cluster{Env: env, admin: env.Admin}
}

// newCluster starts a control plane in dir and a controller manager with
// the two controllers. wrap, if set, wraps the manager's transport;
// rootCreds makes every controller use the manager's own credentials (so
// wrap sees all of their requests); it then runs as the admin, since the
// manager's own role, like upstream's, cannot write pods. qps is the
// manager's --kube-api-qps (burst twice that); 0 keeps its default.
func newCluster(dir string, wrap func(rest.Config) rest.Config, rootCreds bool, qps float32) (*cluster, func(), error) {
	env, err := controllertest.StartControlPlane(dir)
	if err != nil {
		return nil, nil, err
	}
	cmCfg, err := env.ControllerManagerConfig()
	if err != nil {
		_ = env.Stop()
		return nil, nil, err
	}
	if rootCreds {
		cmCfg = rest.CopyConfig(env.AdminConfig)
		cmCfg.QPS, cmCfg.Burst = 0, 0 // the manager's defaults
	}
	if wrap != nil {
		*cmCfg = wrap(*cmCfg)
	}
	err = env.RunManager(manager.Config{
		RESTConfig: cmCfg, Controllers: []string{"replicaset", "replicationcontroller"},
		DisableServiceAccountCredentials: rootCreds, QPS: qps, Burst: int(2 * qps),
	})
	if err != nil {
		_ = env.Stop()
		return nil, nil, err
	}
	return &cluster{Env: env, admin: env.Admin}, func() { _ = env.Stop() }, nil
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
