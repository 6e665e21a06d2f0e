package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Name is the controller's name in --controllers, as upstream.
const Name = "horizontalpodautoscaling"

// Options tune the controller; zero values get upstream's defaults.
type Options struct {
	// SyncPeriod is how often each HPA is reconciled
	// (--horizontal-pod-autoscaler-sync-period); default 15s.
	SyncPeriod time.Duration
	// Tolerance is the relative distance from the target within which
	// nothing is scaled (--horizontal-pod-autoscaler-tolerance); default
	// 0.1. behavior.scaleUp/scaleDown.tolerance override it per HPA.
	Tolerance float64
	// DownscaleStabilizationWindow applies to HPAs without spec.behavior
	// (--horizontal-pod-autoscaler-downscale-stabilization); default 5m.
	DownscaleStabilizationWindow time.Duration
}

// WithDefaults fills the zero fields.
func (o Options) WithDefaults() Options {
	if o.SyncPeriod == 0 {
		o.SyncPeriod = 15 * time.Second
	}
	if o.Tolerance == 0 {
		o.Tolerance = 0.1
	}
	if o.DownscaleStabilizationWindow == 0 {
		o.DownscaleStabilizationWindow = 5 * time.Minute
	}
	return o
}

// Validate reports every problem at once.
func (o Options) Validate() error {
	var errs []error
	if o.SyncPeriod < 0 {
		errs = append(errs, fmt.Errorf("sync period %s must be positive", o.SyncPeriod))
	}
	if o.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("tolerance %v must not be negative", o.Tolerance))
	}
	if o.DownscaleStabilizationWindow < 0 {
		errs = append(errs, fmt.Errorf("downscale stabilization window %s must not be negative", o.DownscaleStabilizationWindow))
	}
	return errors.Join(errs...)
}

// Controller is the horizontal pod autoscaler.
type Controller struct {
	client  kubernetes.Interface
	hpas    autoscalinglisters.HorizontalPodAutoscalerLister
	pods    corelisters.PodLister
	synced  []cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	events  *controllers.Events
	metrics metricsSource
	scales  scaleTarget
	log     *slog.Logger
	clock   clock.WithTicker
	workers int
	opts    Options
	history histories

	reconciliations *prometheus.CounterVec
	duration        *prometheus.HistogramVec
}

var _ controllers.Controller = (*Controller)(nil)

// New builds the controller with default Options.
func New(cc controllers.Context) (controllers.Controller, error) {
	return NewWithOptions(Options{})(cc)
}

// NewWithOptions returns a constructor using o (zero fields defaulted), so
// the manager can pass its flags through.
func NewWithOptions(o Options) controllers.Constructor {
	return func(cc controllers.Context) (controllers.Controller, error) {
		return newController(cc, o)
	}
}

func newController(cc controllers.Context, o Options) (*Controller, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("horizontal pod autoscaler options: %w", err)
	}
	hpaInf := cc.Informers.Autoscaling().V2().HorizontalPodAutoscalers()
	podInf := cc.Informers.Core().V1().Pods()
	c := &Controller{
		client: cc.Client, hpas: hpaInf.Lister(), pods: podInf.Lister(),
		synced:  []cache.InformerSynced{hpaInf.Informer().HasSynced, podInf.Informer().HasSynced},
		queue:   controllers.NewQueue[string](cc, "horizontalpodautoscaler"),
		events:  controllers.NewEvents(cc.Client, "horizontal-pod-autoscaler"),
		metrics: restMetrics{client: cc.Client}, scales: typedScales{client: cc.Client},
		log: cc.Logger, clock: cc.Clock, workers: cc.Workers, opts: o,
		reconciliations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "horizontal_pod_autoscaler_controller", Name: "reconciliations_total",
			Help: "Number of reconciliations of HPA controller, by action (scale_up, scale_down, none) and error (internal, none).",
		}, []string{"action", "error"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "horizontal_pod_autoscaler_controller", Name: "reconciliation_duration_seconds",
			Help:    "The time (seconds) that the HPA controller takes to reconcile once.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"action", "error"}),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.workers <= 0 {
		c.workers = 5
	}
	if cc.Metrics != nil {
		for _, m := range []prometheus.Collector{c.reconciliations, c.duration} {
			if err := cc.Metrics.Register(m); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					return nil, fmt.Errorf("register HPA metrics: %w", err)
				}
			}
		}
	}
	_, err := hpaInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { controllers.Enqueue(c.queue, obj) },
		// Status writes (ours) do not requeue; the sync period does.
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*autoscalingv2.HorizontalPodAutoscaler)
			n, ok2 := cur.(*autoscalingv2.HorizontalPodAutoscaler)
			if ok1 && ok2 && o.Generation != n.Generation {
				controllers.Enqueue(c.queue, cur)
			}
		},
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.history.forget(key)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("hpa informer handler: %w", err)
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

// sync reconciles one HPA and schedules the next reconciliation one sync
// period later (errors are retried sooner, with backoff, by the queue).
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	hpa, err := c.hpas.HorizontalPodAutoscalers(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.history.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	start := c.clock.Now()
	action, err := c.reconcile(ctx, key, hpa.DeepCopy())
	errLabel := "none"
	if err != nil {
		errLabel = "internal"
	}
	c.reconciliations.WithLabelValues(action, errLabel).Inc()
	c.duration.WithLabelValues(action, errLabel).Observe(c.clock.Since(start).Seconds())
	c.queue.AddAfter(key, c.opts.SyncPeriod)
	return err
}

// metricStatusError is a metric that could not be computed, with the
// ScalingActive reason to report.
type metricStatusError struct {
	reason string
	err    error
}

func (e *metricStatusError) Error() string { return e.err.Error() }
func (e *metricStatusError) Unwrap() error { return e.err }

// reconcile is upstream's reconcileAutoscaler; it returns the action taken
// for the metrics.
func (c *Controller) reconcile(ctx context.Context, key string, hpa *autoscalingv2.HorizontalPodAutoscaler) (string, error) {
	original := hpa.Status.DeepCopy()
	now := c.clock.Now()
	reference := fmt.Sprintf("%s/%s/%s", hpa.Spec.ScaleTargetRef.Kind, hpa.Namespace, hpa.Spec.ScaleTargetRef.Name)
	scale, err := c.scales.GetScale(ctx, hpa.Namespace, hpa.Spec.ScaleTargetRef)
	if err != nil {
		c.eventf(ctx, hpa, corev1.EventTypeWarning, "FailedGetScale", "%v", err)
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", "the HPA controller was unable to get the target's current scale: %v", err)
		c.updateStatusIfNeeded(ctx, original, hpa)
		return "none", fmt.Errorf("failed to query scale subresource for %s: %w", reference, err)
	}
	setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale")
	current := scale.Spec.Replicas
	c.history.with(key, func(hs *history) { hs.recordInitial(current, now) })

	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	var (
		desired  int32
		rescale  bool
		reason   string
		statuses []autoscalingv2.MetricStatus
	)
	switch {
	case current == 0 && minReplicas != 0:
		setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
	case current > hpa.Spec.MaxReplicas:
		reason, desired = "Current number of replicas above Spec.MaxReplicas", hpa.Spec.MaxReplicas
	case current < minReplicas:
		reason, desired = "Current number of replicas below Spec.MinReplicas", minReplicas
	default:
		var metricName string
		desired, metricName, statuses, err = c.computeReplicas(ctx, hpa, scale.Status.Selector, current)
		if err != nil {
			hpa.Status.CurrentReplicas = current
			hpa.Status.CurrentMetrics = statuses
			c.updateStatusIfNeeded(ctx, original, hpa)
			c.eventf(ctx, hpa, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", "%v", err)
			return "none", fmt.Errorf("failed to compute desired number of replicas based on listed metrics for %s: %w", reference, err)
		}
		switch {
		case desired > current:
			reason = metricName + " above target"
		case desired < current:
			reason = "All metrics below target"
		}
		var l limits
		c.history.with(key, func(hs *history) {
			if hpa.Spec.Behavior == nil {
				desired, l = hs.normalizeLegacy(now, c.opts.DownscaleStabilizationWindow, current, desired, minReplicas, hpa.Spec.MaxReplicas)
			} else {
				desired, l = hs.normalizeWithBehavior(now, hpa.Spec.Behavior, current, desired, minReplicas, hpa.Spec.MaxReplicas)
			}
		})
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, l.stabilizedReason, "%s", l.stabilizedMessage)
		limited := corev1.ConditionFalse
		if l.limited {
			limited = corev1.ConditionTrue
		}
		setCondition(hpa, autoscalingv2.ScalingLimited, limited, l.limitReason, "%s", l.limitMessage)
	}
	rescale = desired != current && !(current == 0 && minReplicas != 0)
	action := "none"
	if rescale {
		scale.Spec.Replicas = desired
		if err := c.scales.UpdateScale(ctx, hpa.Namespace, hpa.Spec.ScaleTargetRef, scale); err != nil {
			c.eventf(ctx, hpa, corev1.EventTypeWarning, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, reason, err)
			setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale", "the HPA controller was unable to update the target scale: %v", err)
			hpa.Status.CurrentReplicas = current
			hpa.Status.CurrentMetrics = statuses
			c.updateStatusIfNeeded(ctx, original, hpa)
			return "none", fmt.Errorf("failed to rescale %s: %w", reference, err)
		}
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale", "the HPA controller was able to update the target scale to %d", desired)
		c.eventf(ctx, hpa, corev1.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
		c.history.with(key, func(hs *history) { hs.recordScale(now, hpa.Spec.Behavior, current, desired) })
		c.log.Info("rescaled", "hpa", key, "target", reference, "from", current, "to", desired, "reason", reason)
		action = "scale_down"
		if desired > current {
			action = "scale_up"
		}
	} else {
		desired = current
	}
	hpa.Status.CurrentReplicas, hpa.Status.DesiredReplicas, hpa.Status.CurrentMetrics = current, desired, statuses
	if rescale {
		t := metav1.NewTime(now)
		hpa.Status.LastScaleTime = &t
	}
	hpa.Status.ObservedGeneration = &hpa.Generation
	return action, c.updateStatusIfNeeded(ctx, original, hpa)
}

// computeReplicas is upstream's computeReplicasForMetrics: the largest
// proposal over the metrics; when some metrics fail, a scale-down is not
// trusted (an error), a scale-up is.
func (c *Controller) computeReplicas(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, selector string, current int32) (int32, string, []autoscalingv2.MetricStatus, error) {
	sel, err := labels.Parse(selector)
	if err == nil && selector == "" {
		err = errors.New("selector is required")
	}
	if err != nil {
		c.eventf(ctx, hpa, corev1.EventTypeWarning, "InvalidSelector", "%v", err)
		setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector")
		return 0, "", nil, fmt.Errorf("invalid selector %q: %w", selector, err)
	}
	pods, err := c.pods.Pods(hpa.Namespace).List(sel)
	if err != nil {
		return 0, "", nil, err
	}
	tol := tolerancesFor(hpa.Spec.Behavior, c.opts.Tolerance)
	var (
		replicas  int32
		metric    string
		statuses  []autoscalingv2.MetricStatus
		invalid   int
		firstFail *metricStatusError
	)
	for _, spec := range hpa.Spec.Metrics {
		n, name, status, err := c.computeReplicasForMetric(ctx, hpa.Namespace, spec, sel, pods, current, tol)
		if err != nil {
			var mse *metricStatusError
			if !errors.As(err, &mse) {
				mse = &metricStatusError{reason: "FailedGetResourceMetric", err: err}
			}
			c.eventf(ctx, hpa, corev1.EventTypeWarning, mse.reason, "%v", err)
			if firstFail == nil {
				firstFail = mse
			}
			invalid++
			continue
		}
		statuses = append(statuses, status)
		if replicas == 0 || n > replicas {
			replicas, metric = n, name
		}
	}
	if invalid >= len(hpa.Spec.Metrics) || (invalid > 0 && replicas < current) {
		if firstFail == nil {
			firstFail = &metricStatusError{reason: "InvalidMetricSourceType", err: errors.New("no metrics are specified")}
		}
		setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, firstFail.reason, "the HPA was unable to compute the replica count: %v", firstFail.err)
		return 0, "", statuses, firstFail
	}
	setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from %s", metric)
	return replicas, metric, statuses, nil
}

// computeReplicasForMetric handles one metric; only Resource and
// ContainerResource metrics are supported.
func (c *Controller) computeReplicasForMetric(ctx context.Context, ns string, spec autoscalingv2.MetricSpec, sel labels.Selector, pods []*corev1.Pod, current int32, tol tolerances) (int32, string, autoscalingv2.MetricStatus, error) {
	var (
		none      autoscalingv2.MetricStatus
		res       corev1.ResourceName
		container string
		target    autoscalingv2.MetricTarget
		kind      = "resource"
	)
	switch {
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		res, target = spec.Resource.Name, spec.Resource.Target
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		res, target, container = spec.ContainerResource.Name, spec.ContainerResource.Target, spec.ContainerResource.Container
		kind = "container resource"
	default:
		return 0, "", none, &metricStatusError{reason: "InvalidMetricSourceType",
			err: fmt.Errorf("unsupported metric source type %q (kplane's HPA supports Resource and ContainerResource metrics)", spec.Type)}
	}
	reason := "FailedGetResourceMetric"
	if container != "" {
		reason = "FailedGetContainerResourceMetric"
	}
	metrics, _, err := c.metrics.PodMetrics(ctx, ns, sel, res, container)
	if err != nil {
		return 0, "", none, &metricStatusError{reason: reason, err: fmt.Errorf("failed to get %s utilization: %w", res, err)}
	}
	var cur autoscalingv2.MetricValueStatus
	var n int32
	var name string
	switch {
	case target.AverageValue != nil:
		var usage int64
		n, usage, err = averageValueReplicas(current, target.AverageValue.MilliValue(), metrics, pods, res, tol)
		if err != nil {
			return 0, "", none, &metricStatusError{reason: reason, err: fmt.Errorf("failed to get %s usage: %w", res, err)}
		}
		cur.AverageValue = milliQuantity(usage)
		name = fmt.Sprintf("%s %s", res, kind)
	case target.AverageUtilization != nil:
		var util int32
		var raw int64
		n, util, raw, err = utilizationReplicas(current, *target.AverageUtilization, metrics, pods, res, container, tol)
		if err != nil {
			return 0, "", none, &metricStatusError{reason: reason, err: fmt.Errorf("failed to get %s utilization: %w", res, err)}
		}
		cur.AverageUtilization, cur.AverageValue = &util, milliQuantity(raw)
		name = fmt.Sprintf("%s %s utilization (percentage of request)", res, kind)
	default:
		return 0, "", none, &metricStatusError{reason: "InvalidMetricSourceType",
			err: fmt.Errorf("invalid %s metric source: neither an average utilization target nor an average value target was set", kind)}
	}
	status := autoscalingv2.MetricStatus{Type: spec.Type}
	if container == "" {
		status.Resource = &autoscalingv2.ResourceMetricStatus{Name: res, Current: cur}
	} else {
		status.ContainerResource = &autoscalingv2.ContainerResourceMetricStatus{Name: res, Container: container, Current: cur}
	}
	return n, name, status, nil
}

// updateStatusIfNeeded writes the status when it changed. Failures are
// reported as a FailedUpdateStatus event and returned.
func (c *Controller) updateStatusIfNeeded(ctx context.Context, original *autoscalingv2.HorizontalPodAutoscalerStatus, hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	if apiequality.Semantic.DeepEqual(original, &hpa.Status) {
		return nil
	}
	if _, err := c.client.AutoscalingV2().HorizontalPodAutoscalers(hpa.Namespace).UpdateStatus(ctx, hpa, metav1.UpdateOptions{}); err != nil {
		c.eventf(ctx, hpa, corev1.EventTypeWarning, "FailedUpdateStatus", "%v", err)
		return fmt.Errorf("failed to update status for %s: %w", hpa.Name, err)
	}
	return nil
}

// eventf records an event about hpa unless ctx was cancelled (the
// failures of a shutting-down controller are not the HPA's).
func (c *Controller) eventf(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, typ, reason, format string, args ...any) {
	if ctx.Err() != nil {
		return
	}
	c.events.Eventf(hpa, typ, reason, format, args...)
}

// setCondition sets one condition, moving its transition time only when
// its status changes.
func setCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType, status corev1.ConditionStatus, reason, format string, args ...any) {
	var cond *autoscalingv2.HorizontalPodAutoscalerCondition
	for i := range hpa.Status.Conditions {
		if hpa.Status.Conditions[i].Type == t {
			cond = &hpa.Status.Conditions[i]
			break
		}
	}
	if cond == nil {
		hpa.Status.Conditions = append(hpa.Status.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{Type: t})
		cond = &hpa.Status.Conditions[len(hpa.Status.Conditions)-1]
	}
	if cond.Status != status {
		cond.LastTransitionTime = metav1.Now()
	}
	cond.Status, cond.Reason, cond.Message = status, reason, fmt.Sprintf(format, args...)
}
