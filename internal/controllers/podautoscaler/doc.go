// Package podautoscaler is the horizontal pod autoscaler controller
// (upstream's pkg/controller/podautoscaler): every sync period it reads
// each autoscaling/v2 HorizontalPodAutoscaler's target through the scale
// subresource, computes a desired replica count from Resource and
// ContainerResource metrics (cpu or memory, Utilization or AverageValue
// targets) served by metrics.k8s.io, stabilizes and rate-limits it with
// spec.behavior (or upstream's legacy rules when there is none), rescales
// the target and
// writes the HPA status: currentReplicas, desiredReplicas,
// currentMetrics, lastScaleTime and the AbleToScale, ScalingActive and
// ScalingLimited conditions with upstream's reasons.
//
// On kplane the metrics come from the simulated usage model (package
// usage), so pods' usage annotations drive the autoscaler.
//
// Not implemented: Pods, Object and External metric sources (they make
// the metric invalid, reported in ScalingActive), and targets other than Deployments, ReplicaSets, StatefulSets and
// ReplicationControllers. Pod readiness for CPU is simplified (see
// groupPods).
package podautoscaler
