package disruption

import (
	"context"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Name is the controller's name in --controllers, as upstream.
const Name = "disruption"

// Controller is the disruption controller.
type Controller struct {
	client  kubernetes.Interface
	pdbs    policylisters.PodDisruptionBudgetLister
	pods    corelisters.PodLister
	rss     appslisters.ReplicaSetLister
	deploys appslisters.DeploymentLister
	sets    appslisters.StatefulSetLister
	rcs     corelisters.ReplicationControllerLister
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	events  *controllers.Events
	log     *slog.Logger
	clock   clock.WithTicker
	workers int
}

var _ controllers.Controller = (*Controller)(nil)

// New registers the PDB, pod and controller informers.
func New(cc controllers.Context) (controllers.Controller, error) {
	f := cc.Informers
	pdbInf, podInf := f.Policy().V1().PodDisruptionBudgets(), f.Core().V1().Pods()
	rsInf, dInf, ssInf, rcInf := f.Apps().V1().ReplicaSets(), f.Apps().V1().Deployments(), f.Apps().V1().StatefulSets(), f.Core().V1().ReplicationControllers()
	c := &Controller{
		client: cc.Client, pdbs: pdbInf.Lister(), pods: podInf.Lister(),
		rss: rsInf.Lister(), deploys: dInf.Lister(), sets: ssInf.Lister(), rcs: rcInf.Lister(),
		synced: []cache.InformerSynced{pdbInf.Informer().HasSynced, podInf.Informer().HasSynced, rsInf.Informer().HasSynced,
			dInf.Informer().HasSynced, ssInf.Informer().HasSynced, rcInf.Informer().HasSynced},
		queue:  controllers.NewQueue[string](cc, "disruption"),
		events: controllers.NewEvents(cc.Client, "controllermanager"),
		log:    cc.Logger, clock: cc.Clock, workers: cc.Workers,
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.workers <= 0 {
		c.workers = 1
	}
	if _, err := pdbInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { controllers.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, cur any) { controllers.Enqueue(c.queue, cur) },
	}); err != nil {
		return nil, fmt.Errorf("pdb informer handler: %w", err)
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podChanged,
		UpdateFunc: func(_, cur any) { c.podChanged(cur) },
		DeleteFunc: c.podChanged,
	}); err != nil {
		return nil, fmt.Errorf("pod informer handler: %w", err)
	}
	// A controller's scale changes the expected pod count of percentage
	// and maxUnavailable budgets.
	for _, inf := range []cache.SharedIndexInformer{rsInf.Informer(), dInf.Informer(), ssInf.Informer(), rcInf.Informer()} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.namespaceChanged,
			UpdateFunc: func(_, cur any) { c.namespaceChanged(cur) },
		}); err != nil {
			return nil, fmt.Errorf("controller informer handler: %w", err)
		}
	}
	return c, nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return Name }

// Run implements controllers.Controller.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	stop := c.events.Start()
	defer stop()
	if err := controllers.WaitForSync(ctx, Name, c.synced...); err != nil {
		return err
	}
	controllers.RunWorkers(ctx, c.queue, c.workers, c.sync, c.log)
	return nil
}

// podChanged queues the budgets whose selector matches the pod.
func (c *Controller) podChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	pdbs, err := c.pdbs.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, pdb := range pdbs {
		if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil && sel.Matches(labels.Set(pod.Labels)) {
			controllers.Enqueue(c.queue, pdb)
		}
	}
}

// namespaceChanged queues every scale-dependent budget of obj's namespace.
func (c *Controller) namespaceChanged(obj any) {
	acc, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	pdbs, err := c.pdbs.PodDisruptionBudgets(acc.GetNamespace()).List(labels.Everything())
	if err != nil {
		return
	}
	for _, pdb := range pdbs {
		if pdb.Spec.MaxUnavailable != nil || pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type != intstr.Int {
			controllers.Enqueue(c.queue, pdb)
		}
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pdb, err := c.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		sel = labels.Nothing()
	}
	pods, err := c.pods.Pods(ns).List(sel)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		c.events.Event(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	st, recheck, serr := newStatus(pdb, pods, c.scaleOf, c.clock.Now())
	if serr != nil {
		c.events.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", serr)
	}
	if !recheck.IsZero() {
		c.queue.AddAfter(key, recheck.Sub(c.clock.Now()))
	}
	if !apiequality.Semantic.DeepEqual(pdb.Status, st) {
		cp := pdb.DeepCopy()
		cp.Status = st
		if _, err := c.client.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of pdb %s: %w", key, err)
		}
	}
	return serr
}

// scaleOf finds the pod's controller and its desired replicas, following
// a ReplicaSet to the Deployment that owns it.
func (c *Controller) scaleOf(pod *corev1.Pod) (string, int32, error) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return "", 0, errNoController{pod.Name}
	}
	replicas := func(r *int32) int32 {
		if r == nil {
			return 1
		}
		return *r
	}
	switch ref.APIVersion + "/" + ref.Kind {
	case "apps/v1/ReplicaSet":
		rs, err := c.rss.ReplicaSets(pod.Namespace).Get(ref.Name)
		if err != nil || rs.UID != ref.UID {
			break
		}
		if dref := metav1.GetControllerOf(rs); dref != nil && dref.Kind == "Deployment" {
			d, err := c.deploys.Deployments(pod.Namespace).Get(dref.Name)
			if err == nil && d.UID == dref.UID {
				return string(d.UID), replicas(d.Spec.Replicas), nil
			}
			break
		}
		return string(rs.UID), replicas(rs.Spec.Replicas), nil
	case "apps/v1/StatefulSet":
		ss, err := c.sets.StatefulSets(pod.Namespace).Get(ref.Name)
		if err == nil && ss.UID == ref.UID {
			return string(ss.UID), replicas(ss.Spec.Replicas), nil
		}
	case "v1/ReplicationController":
		rc, err := c.rcs.ReplicationControllers(pod.Namespace).Get(ref.Name)
		if err == nil && rc.UID == ref.UID {
			return string(rc.UID), replicas(rc.Spec.Replicas), nil
		}
	}
	return "", 0, errNoController{pod.Name}
}
