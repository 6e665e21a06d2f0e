package usage

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Annotation keys read from pods; see the package documentation.
const (
	AnnotationCPU    = "kplane.io/cpu-usage"
	AnnotationMemory = "kplane.io/memory-usage"
)

// Config tunes the default model. Zero values get the documented defaults.
type Config struct {
	// RequestFraction of a container's request it uses when no annotation
	// says otherwise; default 0.5.
	RequestFraction float64
	// Jitter is the largest relative deviation from RequestFraction, in
	// [0, 1); default 0.1 (±10%). Set NoJitter for none.
	Jitter   float64
	NoJitter bool
	// DefaultCPU and DefaultMemory are used by a container that requests
	// nothing; defaults 5m and 16Mi.
	DefaultCPU, DefaultMemory resource.Quantity
	// NodeOverheadCPU and NodeOverheadMemory are what a node's system
	// daemons use on top of its pods; defaults 100m and 512Mi.
	NodeOverheadCPU, NodeOverheadMemory resource.Quantity
	// Window is the length of one sample window, the metrics API's window;
	// default 30s (metrics-server's default resolution is 15s–60s).
	Window time.Duration
}

// Model computes usage. It holds no state and is safe for concurrent use.
type Model struct {
	cfg Config
}

// New applies the defaults and validates cfg.
func New(cfg Config) (*Model, error) {
	if cfg.RequestFraction == 0 {
		cfg.RequestFraction = 0.5
	}
	if cfg.Jitter == 0 && !cfg.NoJitter {
		cfg.Jitter = 0.1
	}
	if cfg.NoJitter {
		cfg.Jitter = 0
	}
	if cfg.DefaultCPU.IsZero() {
		cfg.DefaultCPU = resource.MustParse("5m")
	}
	if cfg.DefaultMemory.IsZero() {
		cfg.DefaultMemory = resource.MustParse("16Mi")
	}
	if cfg.NodeOverheadCPU.IsZero() {
		cfg.NodeOverheadCPU = resource.MustParse("100m")
	}
	if cfg.NodeOverheadMemory.IsZero() {
		cfg.NodeOverheadMemory = resource.MustParse("512Mi")
	}
	if cfg.Window == 0 {
		cfg.Window = 30 * time.Second
	}
	var errs []error
	if cfg.RequestFraction < 0 {
		errs = append(errs, fmt.Errorf("request fraction %v must not be negative", cfg.RequestFraction))
	}
	if cfg.Jitter < 0 || cfg.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("jitter %v must be in [0, 1)", cfg.Jitter))
	}
	if cfg.Window < time.Second {
		errs = append(errs, fmt.Errorf("window %s must be at least 1s", cfg.Window))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("usage model: %w", err)
	}
	return &Model{cfg: cfg}, nil
}

// Default is the model with every default.
func Default() *Model {
	m, _ := New(Config{})
	return m
}

// Window is the sample window length.
func (m *Model) Window() time.Duration { return m.cfg.Window }

// WindowStart is the start of the window that contains at; usage is
// constant within it.
func (m *Model) WindowStart(at time.Time) time.Time { return at.Truncate(m.cfg.Window) }

// Container is one container's usage.
type Container struct {
	Name string
	// CPU in millicores and Memory in bytes.
	CPUMilli, MemoryBytes int64
}

// ResourceList is the usage as a core ResourceList (cpu, memory).
func (c Container) ResourceList() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(c.CPUMilli, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(c.MemoryBytes, resource.BinarySI),
	}
}

// Running reports whether pod uses resources: it is bound and Running and
// not being deleted.
func Running(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && pod.Spec.NodeName != "" && pod.DeletionTimestamp == nil
}

// Pod is the usage of pod's containers in the window containing at; ok is
// false when the pod is not Running (it has no metrics). Malformed
// annotations are ignored (the default model applies) and reported in err
// alongside a usable result.
func (m *Model) Pod(pod *corev1.Pod, at time.Time) (containers []Container, ok bool, err error) {
	if !Running(pod) {
		return nil, false, nil
	}
	window := at.UnixNano() / int64(m.cfg.Window)
	cpu, errCPU := m.split(pod, corev1.ResourceCPU, AnnotationCPU, window)
	mem, errMem := m.split(pod, corev1.ResourceMemory, AnnotationMemory, window)
	out := make([]Container, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		out[i] = Container{Name: c.Name, CPUMilli: cpu[i], MemoryBytes: mem[i]}
	}
	return out, true, errors.Join(errCPU, errMem)
}

// PodTotal sums the usage of Pod's containers.
func (m *Model) PodTotal(pod *corev1.Pod, at time.Time) (Container, bool) {
	cs, ok, _ := m.Pod(pod, at)
	var t Container
	for _, c := range cs {
		t.CPUMilli += c.CPUMilli
		t.MemoryBytes += c.MemoryBytes
	}
	return t, ok
}

// Node is the usage of a node whose pods are pods (those not Running or
// bound elsewhere are skipped) in the window containing at: their sum plus
// the node overhead.
func (m *Model) Node(nodeName string, pods []*corev1.Pod, at time.Time) Container {
	t := Container{Name: nodeName, CPUMilli: m.cfg.NodeOverheadCPU.MilliValue(), MemoryBytes: m.cfg.NodeOverheadMemory.Value()}
	for _, p := range pods {
		if p.Spec.NodeName != nodeName {
			continue
		}
		if u, ok := m.PodTotal(p, at); ok {
			t.CPUMilli += u.CPUMilli
			t.MemoryBytes += u.MemoryBytes
		}
	}
	return t
}

// split computes one resource for every container of pod, in the unit
// the resource is counted in (millicores for cpu, bytes for memory).
func (m *Model) split(pod *corev1.Pod, name corev1.ResourceName, key string, window int64) ([]int64, error) {
	value := func(q resource.Quantity) int64 {
		if name == corev1.ResourceCPU {
			return q.MilliValue()
		}
		return q.Value()
	}
	var errs []error
	parse := func(k string) (int64, bool) {
		s, ok := pod.Annotations[k]
		if !ok {
			return 0, false
		}
		q, err := resource.ParseQuantity(s)
		if err != nil || q.Sign() < 0 {
			errs = append(errs, fmt.Errorf("pod %s/%s annotation %s=%q is not a non-negative quantity", pod.Namespace, pod.Name, k, s))
			return 0, false
		}
		return value(q), true
	}
	out := make([]int64, len(pod.Spec.Containers))
	explicit := make([]bool, len(pod.Spec.Containers))
	var explicitSum int64
	for i, c := range pod.Spec.Containers {
		if v, ok := parse(key + "." + c.Name); ok {
			out[i], explicit[i] = v, true
			explicitSum += v
		}
	}
	total, hasTotal := parse(key)
	if hasTotal {
		rest := max(total-explicitSum, 0)
		var weights []int64
		var sum int64
		for i, c := range pod.Spec.Containers {
			w := int64(0)
			if !explicit[i] {
				if q, ok := c.Resources.Requests[name]; ok {
					w = value(q)
				}
			}
			weights = append(weights, w)
			sum += w
		}
		n := 0
		for i := range explicit {
			if !explicit[i] {
				n++
			}
		}
		left := rest
		last := -1
		for i := range pod.Spec.Containers {
			if explicit[i] {
				continue
			}
			last = i
			if sum > 0 {
				out[i] = rest * weights[i] / sum
			} else {
				out[i] = rest / int64(n)
			}
			left -= out[i]
		}
		if last >= 0 {
			out[last] += left // rounding remainder, so the total is exact
		}
		return out, errors.Join(errs...)
	}
	for i, c := range pod.Spec.Containers {
		if explicit[i] {
			continue
		}
		out[i] = m.modelled(pod, c, name, value, window)
	}
	return out, errors.Join(errs...)
}

// modelled is the default model for one container and resource.
func (m *Model) modelled(pod *corev1.Pod, c corev1.Container, name corev1.ResourceName, value func(resource.Quantity) int64, window int64) int64 {
	var base float64
	if q, ok := c.Resources.Requests[name]; ok && !q.IsZero() {
		base = float64(value(q)) * m.cfg.RequestFraction
	} else if name == corev1.ResourceCPU {
		base = float64(value(m.cfg.DefaultCPU))
	} else {
		base = float64(value(m.cfg.DefaultMemory))
	}
	f := 1 + m.cfg.Jitter*noise(string(pod.UID), c.Name, string(name), window)
	return int64(math.Round(base * f))
}

// noise is a deterministic value in [-1, 1) from its inputs.
func noise(uid, container, res string, window int64) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(uid))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(container))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(res))
	var b [8]byte
	for i := range b {
		b[i] = byte(window >> (8 * i))
	}
	_, _ = h.Write(b[:])
	// Finalize (splitmix64) so nearby windows give unrelated values.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/float64(1<<52) - 1
}
