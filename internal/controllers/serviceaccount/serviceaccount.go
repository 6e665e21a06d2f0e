package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"kplane/internal/controllers"
)

// Name is the controller's --controllers name.
const Name = "serviceaccount"

// defaultServiceAccounts are the accounts every namespace gets.
var defaultServiceAccounts = []string{"default"}

// Controller creates missing default service accounts.
type Controller struct {
	client   kubernetes.Interface
	log      *slog.Logger
	workers  int
	saLister corelisters.ServiceAccountLister
	nsLister corelisters.NamespaceLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
}

var _ controllers.Controller = (*Controller)(nil)

// New builds the controller on the shared namespace and service account
// informers.
func New(ctx controllers.Context) (controllers.Controller, error) {
	sas := ctx.Informers.Core().V1().ServiceAccounts()
	nss := ctx.Informers.Core().V1().Namespaces()
	log := ctx.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Controller{
		client: ctx.Client, log: log, workers: max(ctx.Workers, 1),
		saLister: sas.Lister(), nsLister: nss.Lister(),
		synced: []cache.InformerSynced{sas.Informer().HasSynced, nss.Informer().HasSynced},
		queue:  controllers.NewQueue[string](ctx, "serviceaccount"),
	}
	if _, err := sas.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if sa, ok := obj.(*corev1.ServiceAccount); ok {
				c.queue.Add(sa.Namespace)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("service account handler: %w", err)
	}
	if _, err := nss.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueNamespace,
		UpdateFunc: func(_, obj any) { c.enqueueNamespace(obj) },
	}); err != nil {
		return nil, fmt.Errorf("namespace handler: %w", err)
	}
	return c, nil
}

func (c *Controller) enqueueNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		c.queue.Add(ns.Name)
	}
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return Name }

// Run processes namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	c.log.Info("starting controller")
	defer c.log.Info("shutting down controller")
	if err := controllers.WaitForSync(ctx, Name, c.synced...); err != nil {
		return err
	}
	controllers.RunLoops(ctx, c.workers, func(ctx context.Context) {
		for c.processNext(ctx) {
		}
	}, c.queue)
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	ns, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(ns)
	if err := c.syncNamespace(ctx, ns); err != nil {
		c.log.Error("syncing namespace", "namespace", ns, "err", err)
		c.queue.AddRateLimited(ns)
		return true
	}
	c.queue.Forget(ns)
	return true
}

// syncNamespace creates the default accounts an active namespace lacks.
func (c *Controller) syncNamespace(ctx context.Context, name string) error {
	ns, err := c.nsLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
		return nil
	}
	var errs []error
	for _, sa := range defaultServiceAccounts {
		if _, err := c.saLister.ServiceAccounts(name).Get(sa); err == nil {
			continue
		}
		_, err := c.client.CoreV1().ServiceAccounts(name).Create(ctx,
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		switch {
		case err == nil, apierrors.IsAlreadyExists(err):
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			// The namespace is going away; nothing to do.
		default:
			errs = append(errs, fmt.Errorf("create service account %s/%s: %w", name, sa, err))
		}
	}
	return errors.Join(errs...)
}
