package cronjob_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
	"kplane/internal/controlplane"
)

// startEnv starts a control plane and runs the given controllers the way
// the manager does: one shared informer factory under the controller
// manager's identity, and each controller's writes under its
// kube-system service account token (so the bootstrap RBAC roles are
// exercised). It returns an admin client.
func startEnv(t *testing.T, run map[string]controllers.Constructor) kubernetes.Interface {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: t.TempDir(), Port: 0, Logger: log, EtcdUnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	adminCfg, err := cp.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	adminCfg.QPS, adminCfg.Burst = 200, 400
	admin := kubernetes.NewForConfigOrDie(adminCfg)
	cmCfg, err := clientcmd.BuildConfigFromFlags("", cp.ControllerManagerKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(kubernetes.NewForConfigOrDie(cmCfg), 0)
	reg := prometheus.NewRegistry()
	queues := controllers.NewQueueMetrics(reg)
	var running []controllers.Controller
	for sa, newFn := range run {
		c, err := newFn(controllers.Context{
			Client: saClient(t, ctx, admin, cmCfg, sa), Informers: factory, Logger: log,
			Metrics: reg, Queues: queues, Clock: clock.RealClock{}, Workers: 2,
		})
		if err != nil {
			t.Fatalf("new %s: %v", sa, err)
		}
		running = append(running, c)
	}
	factory.Start(ctx.Done())
	var wg sync.WaitGroup
	for _, c := range running {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("%s: %v", c.Name(), err)
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		factory.Shutdown()
		_ = cp.Stop()
	})
	return admin
}

func saClient(t *testing.T, ctx context.Context, admin kubernetes.Interface, base *rest.Config, sa string) kubernetes.Interface {
	t.Helper()
	_, err := admin.CoreV1().ServiceAccounts("kube-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("service account %s: %v", sa, err)
	}
	exp := int64(time.Hour / time.Second)
	tr, err := admin.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s: %v", sa, err)
	}
	cfg := rest.AnonymousClientConfig(base)
	cfg.BearerToken = tr.Status.Token
	return kubernetes.NewForConfigOrDie(cfg)
}
