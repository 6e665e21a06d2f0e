package hollownode

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Pod annotations that steer the simulation (see the package doc).
const (
	AnnotationRunDuration  = "kplane.io/run-duration"
	AnnotationExitCode     = "kplane.io/exit-code"
	AnnotationStartLatency = "kplane.io/start-latency"
	AnnotationStopDuration = "kplane.io/stop-duration"
)

// stage is where a pod is in its simulated life.
type stage uint8

const (
	stageNew      stage = iota // not seen yet
	stageStarting              // containers being created until startAt
	stageRunning               // containers running (maybe not Ready yet)
	stageDone                  // Succeeded/Failed written, or gone
	stageDeleted               // final delete sent
)

// podState is the fleet's memory of one pod: a few words, because 150,000
// of them live in one process. Times are unix nanoseconds; 0 is unset. A
// pod's state is only touched by syncPod, which the work queue never runs
// concurrently for one key.
type podState struct {
	uid      types.UID
	node     *node
	stage    stage
	ready    bool
	exitCode int32
	restarts int32
	ip       netip.Addr // allocated from node.ips; invalid when none
	seen     int64      // first seen bound
	startAt  int64      // containers (re)started
	readyAt  int64      // containers turn Ready
	finishAt int64      // containers exit; 0 runs until deleted
	stopAt   int64      // containers stopped after deletion
}

// syncPod moves the pod with key one step through its life and schedules
// its next step.
func (f *Fleet) syncPod(ctx context.Context, key string) error {
	obj, exists, err := f.informer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	var pod *corev1.Pod
	if exists {
		pod, _ = obj.(*corev1.Pod)
	}
	if pod == nil || f.byName[pod.Spec.NodeName] == nil {
		f.forgetPod(key)
		return nil
	}
	n := f.byName[pod.Spec.NodeName]
	if Fault(n.fault.Load()) == FaultStopHeartbeats {
		return nil // frozen; SetFault requeues the node's pods on healing
	}
	st := f.podState(key, pod, n)
	now := f.clock.Now()
	switch {
	case pod.DeletionTimestamp != nil:
		return f.syncDeleting(ctx, key, pod, st, now)
	case st.stage == stageDone || st.stage == stageDeleted:
		return nil
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		f.finish(st)
		return nil
	case st.stage == stageNew:
		if f.adopt(pod, st) {
			f.scheduleNext(key, st, now)
			return nil
		}
		st.seen = f.takeSeen(key, now)
		st.startAt = now.Add(f.startLatency(pod)).UnixNano()
		st.stage = stageStarting
		if f.cfg.Pods.PendingStatus && st.startAt > now.UnixNano() {
			// The kubelet's first status: accepted, containers creating.
			if err := f.writePodStatus(ctx, pod, st, now); err != nil {
				return err
			}
		}
	}
	if st.stage == stageStarting {
		if now.UnixNano() < st.startAt {
			f.podQ.AddAfter(key, time.Duration(st.startAt-now.UnixNano()))
			return nil
		}
		if !st.ip.IsValid() && !pod.Spec.HostNetwork {
			n.mu.Lock()
			ip, ok := n.ips.allocate()
			n.mu.Unlock()
			if !ok {
				return fmt.Errorf("pod %s: podCIDR %s of node %s is full", key, n.podCIDR, n.name)
			}
			st.ip = ip
		}
		f.startContainers(pod, st, now.UnixNano())
		st.stage = stageRunning
		if err := f.writePodStatus(ctx, pod, st, now); err != nil {
			st.stage = stageStarting
			return err
		}
		f.m.podStart.Observe(time.Duration(f.clock.Now().UnixNano() - st.seen).Seconds())
		f.m.runningPods.Inc()
		f.scheduleNext(key, st, now)
		return nil
	}
	// Running.
	t := now.UnixNano()
	switch {
	case st.finishAt != 0 && t >= st.finishAt:
		code := f.exitCode(pod, st)
		restart := pod.Spec.RestartPolicy == corev1.RestartPolicyAlways ||
			(pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && code != 0)
		if restart {
			st.exitCode = code
			st.restarts++
			f.startContainers(pod, st, t)
			if err := f.writePodStatus(ctx, pod, st, now); err != nil {
				st.restarts--
				return err
			}
		} else {
			st.exitCode = code
			st.stage = stageDone
			if err := f.writePodStatus(ctx, pod, st, now); err != nil {
				st.stage = stageRunning
				return err
			}
			f.finish(st)
			return nil
		}
	case !st.ready && t >= st.readyAt:
		st.ready = true
		if err := f.writePodStatus(ctx, pod, st, now); err != nil {
			st.ready = false
			return err
		}
	}
	f.scheduleNext(key, st, now)
	return nil
}

// startContainers (re)starts st's containers at t: readiness after the
// probe delay, exit after the run duration.
func (f *Fleet) startContainers(pod *corev1.Pod, st *podState, t int64) {
	st.startAt = t
	st.readyAt = t + int64(f.readinessDelay(pod))
	st.ready = st.readyAt <= t
	st.finishAt = 0
	if d := f.runDuration(pod); d > 0 {
		st.finishAt = t + int64(d)
	}
}

// scheduleNext queues the pod's next own event (Ready, exit).
func (f *Fleet) scheduleNext(key string, st *podState, now time.Time) {
	if st.stage != stageRunning {
		return
	}
	var next int64
	if !st.ready {
		next = st.readyAt
	}
	if st.finishAt != 0 && (next == 0 || st.finishAt < next) {
		next = st.finishAt
	}
	if next != 0 {
		f.podQ.AddAfter(key, time.Duration(next-now.UnixNano()))
	}
}

// adopt takes over a pod that already runs per its status (the fleet
// restarted): it keeps its IP and times instead of starting it again.
func (f *Fleet) adopt(pod *corev1.Pod, st *podState) bool {
	if pod.Status.Phase != corev1.PodRunning || pod.Status.StartTime == nil {
		return false
	}
	if ip, err := netip.ParseAddr(pod.Status.PodIP); err == nil && !pod.Spec.HostNetwork {
		st.node.mu.Lock()
		if st.node.ips.mark(ip) {
			st.ip = ip
		}
		st.node.mu.Unlock()
	}
	t := pod.Status.StartTime.UnixNano()
	st.seen = t
	f.startContainers(pod, st, t)
	for _, cs := range pod.Status.ContainerStatuses {
		st.restarts = max(st.restarts, cs.RestartCount)
	}
	st.ready = podReady(pod)
	if !st.ready && st.readyAt < t {
		st.readyAt = t
	}
	st.stage = stageRunning
	f.m.runningPods.Inc()
	return true
}

// syncDeleting stops a deleted pod's containers after their stop time,
// capped by the grace period, then deletes it for good (grace 0).
// Finalizers stay for their owners: the pod lingers until they go.
func (f *Fleet) syncDeleting(ctx context.Context, key string, pod *corev1.Pod, st *podState, now time.Time) error {
	if st.stage == stageDeleted {
		return nil
	}
	if st.stage == stageRunning {
		if st.stopAt == 0 {
			stop := now.Add(f.stopDuration(pod))
			if deadline := pod.DeletionTimestamp.Time; deadline.Before(stop) {
				stop = deadline
			}
			st.stopAt = stop.UnixNano()
		}
		if wait := time.Duration(st.stopAt - now.UnixNano()); wait > 0 {
			f.podQ.AddAfter(key, wait)
			return nil
		}
	}
	// Containers stopped, never started, or already exited.
	err := f.podClient.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		f.m.podDeletes.WithLabelValues("success").Inc()
	case apierrors.IsConflict(err):
		// A newer pod of the same name: not ours to delete.
		f.m.podDeletes.WithLabelValues("conflict").Inc()
	default:
		f.m.podDeletes.WithLabelValues("error").Inc()
		return fmt.Errorf("delete pod %s: %w", key, err)
	}
	f.finish(st)
	st.stage = stageDeleted
	return nil
}

// finish releases what a pod held once its containers are gone.
func (f *Fleet) finish(st *podState) {
	if st.stage == stageRunning {
		f.m.runningPods.Dec()
	}
	if st.stage != stageDeleted {
		st.stage = stageDone
	}
	if st.ip.IsValid() {
		st.node.mu.Lock()
		st.node.ips.release(st.ip)
		st.node.mu.Unlock()
		st.ip = netip.Addr{}
	}
}

// podState is the state of the pod with key, created on first sight and
// reset when a new pod took the name.
func (f *Fleet) podState(key string, pod *corev1.Pod, n *node) *podState {
	f.podsMu.Lock()
	st := f.pods[key]
	f.podsMu.Unlock()
	if st != nil && st.uid == pod.UID && st.node == n {
		return st
	}
	if st != nil {
		f.finish(st)
	}
	st = &podState{uid: pod.UID, node: n}
	f.podsMu.Lock()
	f.pods[key] = st
	f.podsMu.Unlock()
	return st
}

// takeSeen is when the informer first delivered the pod with key, or now.
func (f *Fleet) takeSeen(key string, now time.Time) int64 {
	f.podsMu.Lock()
	defer f.podsMu.Unlock()
	t, ok := f.seen[key]
	if !ok {
		return now.UnixNano()
	}
	delete(f.seen, key)
	return t
}

// forgetPod drops the state of a pod that is gone.
func (f *Fleet) forgetPod(key string) {
	f.podsMu.Lock()
	st := f.pods[key]
	delete(f.pods, key)
	delete(f.seen, key)
	f.podsMu.Unlock()
	if st != nil && st.stage != stageDone {
		f.finish(st)
	}
}

// rng is the pod's reproducible random source for attempt (restart count).
func (f *Fleet) rng(pod *corev1.Pod, attempt int32) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(pod.Namespace))
	_, _ = h.Write([]byte{'/'})
	_, _ = h.Write([]byte(pod.Name))
	return rand.New(rand.NewPCG(f.cfg.Seed+uint64(attempt), h.Sum64()))
}

// startLatency is the simulated time from bound to running: the
// annotation's, else log-normal around the configured median.
func (f *Fleet) startLatency(pod *corev1.Pod) time.Duration {
	if d, ok := annotationDuration(pod, AnnotationStartLatency); ok {
		return d
	}
	p := f.cfg.Pods
	if p.StartLatency < 0 {
		return 0
	}
	z := f.rng(pod, 0).NormFloat64()
	return time.Duration(float64(p.StartLatency) * math.Exp(p.StartLatencySigma*z))
}

// readinessDelay is when the pod turns Ready after its containers start:
// the longest readinessProbe initial delay (or Pods.ReadinessDelay), 0
// without readiness probes.
func (f *Fleet) readinessDelay(pod *corev1.Pod) time.Duration {
	var d time.Duration
	for _, c := range pod.Spec.Containers {
		if c.ReadinessProbe == nil {
			continue
		}
		pd := time.Duration(c.ReadinessProbe.InitialDelaySeconds) * time.Second
		if pd == 0 {
			pd = f.cfg.Pods.ReadinessDelay
		}
		d = max(d, pd)
	}
	return d
}

// runDuration is how long the pod's containers run before exiting: the
// annotation's, Pods.JobRunDuration for pods of Jobs, else 0 (forever).
func (f *Fleet) runDuration(pod *corev1.Pod) time.Duration {
	if d, ok := annotationDuration(pod, AnnotationRunDuration); ok {
		return d
	}
	for _, o := range pod.OwnerReferences {
		if o.Kind == "Job" && o.APIVersion == "batch/v1" {
			return f.cfg.Pods.JobRunDuration
		}
	}
	return 0
}

// exitCode is the exit code of this run of the pod's containers.
func (f *Fleet) exitCode(pod *corev1.Pod, st *podState) int32 {
	if v, ok := pod.Annotations[AnnotationExitCode]; ok {
		if c, err := strconv.ParseInt(v, 10, 32); err == nil {
			return int32(c)
		}
	}
	if r := f.cfg.Pods.FailureRate; r > 0 && f.rng(pod, st.restarts+1).Float64() < r {
		return 1
	}
	return 0
}

// stopDuration is how long the pod's containers take to stop after
// SIGTERM: the annotation's, a preStop sleep's seconds, the whole grace
// period for other preStop hooks, else Pods.StopDuration.
func (f *Fleet) stopDuration(pod *corev1.Pod) time.Duration {
	if d, ok := annotationDuration(pod, AnnotationStopDuration); ok {
		return d
	}
	d := max(f.cfg.Pods.StopDuration, 0)
	for _, c := range pod.Spec.Containers {
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
			continue
		}
		if s := c.Lifecycle.PreStop.Sleep; s != nil {
			d = max(d, time.Duration(s.Seconds)*time.Second)
			continue
		}
		return time.Duration(math.MaxInt64) // capped by the grace period
	}
	return d
}

func annotationDuration(pod *corev1.Pod, key string) (time.Duration, bool) {
	v, ok := pod.Annotations[key]
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// writePodStatus writes the status st describes as a merge patch of the
// status subresource, so the cached pod may be trimmed and a concurrent
// writer of other fields causes no conflict.
func (f *Fleet) writePodStatus(ctx context.Context, pod *corev1.Pod, st *podState, now time.Time) error {
	status := f.podStatus(pod, st, now)
	// The uid makes the patch fail rather than touch a new pod of the
	// same name (StatefulSets reuse names), as the kubelet's does.
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": pod.UID}, "status": status})
	if err != nil {
		return fmt.Errorf("encode status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	t0 := f.clock.Now()
	_, err = f.podClient.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
	f.m.apiLatency.WithLabelValues("pod_status").Observe(f.clock.Since(t0).Seconds())
	switch {
	case err == nil:
		f.m.podStatus.WithLabelValues("success").Inc()
		return nil
	case apierrors.IsNotFound(err):
		f.m.podStatus.WithLabelValues("not_found").Inc()
		return nil // deleted meanwhile; the informer will tell
	default:
		f.m.podStatus.WithLabelValues("error").Inc()
		return fmt.Errorf("write status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
}
