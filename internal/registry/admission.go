package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/storage"
)

// Admission holds the built-in admission rules that need cluster state:
// namespace lifecycle, service IP and node port allocation, and the
// service account default of pods.
type Admission struct {
	store *storage.Store

	mu sync.RWMutex
	// phases caches namespace phases by name, fed by Run's watch; a miss
	// falls back to etcd.
	phases map[string]corev1.NamespacePhase

	// ServiceCIDR is where cluster IPs come from; default 10.96.0.0/12.
	ServiceCIDR netip.Prefix
	// NodePortMin and NodePortMax bound node ports; default 30000-32767.
	NodePortMin, NodePortMax int
}

// NewAdmission returns admission over store with upstream's defaults.
func NewAdmission(store *storage.Store) *Admission {
	return &Admission{
		store:       store,
		phases:      map[string]corev1.NamespacePhase{},
		ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12"),
		NodePortMin: 30000, NodePortMax: 32767,
	}
}

// Run keeps the namespace cache current until ctx ends.
func (a *Admission) Run(ctx context.Context) {
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			// The watch ended (compaction, etcd restart): relist after a
			// pause; until then lookups fall back to etcd.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		a.mu.Lock()
		a.phases = map[string]corev1.NamespacePhase{}
		a.mu.Unlock()
		events, err := a.store.Watch(ctx, "/registry/namespaces/", "Namespace", storage.WatchOptions{SendInitial: true, Recursive: true})
		if err != nil {
			return
		}
		for ev := range events {
			ns, ok := ev.Object.(*corev1.Namespace)
			if !ok {
				continue
			}
			a.mu.Lock()
			if ev.Type == "DELETED" {
				delete(a.phases, ns.Name)
			} else {
				a.phases[ns.Name] = ns.Status.Phase
			}
			a.mu.Unlock()
		}
	}
}

func (a *Admission) namespacePhase(ctx context.Context, name string) (corev1.NamespacePhase, bool, error) {
	a.mu.RLock()
	phase, ok := a.phases[name]
	a.mu.RUnlock()
	if ok && phase == corev1.NamespaceActive {
		return phase, true, nil
	}
	obj, err := a.store.Get(ctx, "/registry/namespaces/"+name, "Namespace")
	if storage.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return obj.(*corev1.Namespace).Status.Phase, true, nil
}

// Create admits a new object: its namespace must exist and not be
// terminating; pods get a service account; services get IPs and ports.
func (a *Admission) Create(ctx context.Context, r *REST, obj runtime.Object, acc metav1.Object, dryRun bool) error {
	if r.Res.Namespaced {
		phase, exists, err := a.namespacePhase(ctx, acc.GetNamespace())
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		if !exists {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, acc.GetNamespace())
		}
		if phase == corev1.NamespaceTerminating {
			e := apierrors.NewForbidden(r.gr(), acc.GetName(), fmt.Errorf("unable to create new content in namespace %s because it is being terminated", acc.GetNamespace()))
			e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{
				Type: corev1.NamespaceTerminatingCause, Message: fmt.Sprintf("namespace %s is being terminated", acc.GetNamespace()), Field: "metadata.namespace"})
			return e
		}
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		if err := a.resolvePriority(ctx, r, o); err != nil {
			return err
		}
		if o.Spec.ServiceAccountName == "" {
			o.Spec.ServiceAccountName = o.Spec.DeprecatedServiceAccount
		}
		if o.Spec.ServiceAccountName == "" {
			o.Spec.ServiceAccountName = "default"
		}
		// The v1 wire form mirrors the name in the deprecated field.
		o.Spec.DeprecatedServiceAccount = o.Spec.ServiceAccountName
	case *corev1.Service:
		if !dryRun {
			return a.allocateService(ctx, r, o)
		}
	}
	return nil
}

// resolvePriority is upstream's Priority admission for classes other
// than the two built-in ones (which pod defaulting resolves): the pod's
// spec.priority and preemptionPolicy come from its PriorityClass, which
// must exist.
func (a *Admission) resolvePriority(ctx context.Context, r *REST, pod *corev1.Pod) error {
	name := pod.Spec.PriorityClassName
	if name == "" || name == "system-cluster-critical" || name == "system-node-critical" {
		return nil
	}
	obj, err := a.store.Get(ctx, "/registry/priorityclasses/"+name, "PriorityClass")
	if storage.IsNotFound(err) {
		return apierrors.NewForbidden(r.gr(), pod.Name, fmt.Errorf("no PriorityClass with name %v was found", name))
	}
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("failed to get PriorityClass with name %s: %w", name, err))
	}
	pc, ok := obj.(*schedulingv1.PriorityClass)
	if !ok {
		return apierrors.NewInternalError(fmt.Errorf("priority class %s: unexpected %T", name, obj))
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != pc.Value {
		return apierrors.NewForbidden(r.gr(), pod.Name, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, pc.Value))
	}
	v := pc.Value
	pod.Spec.Priority = &v
	if pc.PreemptionPolicy != nil {
		pp := *pc.PreemptionPolicy
		pod.Spec.PreemptionPolicy = &pp
	}
	return nil
}

// Release frees what Create allocated for an object that is gone.
func (a *Admission) Release(ctx context.Context, _ *REST, obj runtime.Object) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != "" && ip != corev1.ClusterIPNone {
			_, _ = a.store.Client().Delete(ctx, ipKey(ip))
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			_, _ = a.store.Client().Delete(ctx, portKey(int(p.NodePort)))
		}
	}
}

func ipKey(ip string) string        { return "/registry/kplane.io/serviceips/" + ip }
func portKey(p int) string          { return "/registry/kplane.io/servicenodeports/" + strconv.Itoa(p) }
func errAllocated(msg string) error { return errors.New(msg) }

// claim creates key if absent and reports whether this call got it.
func (a *Admission) claim(ctx context.Context, key string) (bool, error) {
	resp, err := a.store.Client().Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, "")).Commit()
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	return resp.Succeeded, nil
}

func (a *Admission) allocateService(ctx context.Context, r *REST, svc *corev1.Service) error {
	invalid := func(p *field.Path, v any, msg string) error {
		return apierrors.NewInvalid(r.Res.QualifiedKind(), svc.Name, field.ErrorList{field.Invalid(p, v, msg)})
	}
	if svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		if svc.Spec.ClusterIP != "" {
			ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
			if err != nil || !a.ServiceCIDR.Contains(ip) {
				return invalid(field.NewPath("spec", "clusterIPs"), []string{svc.Spec.ClusterIP},
					fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", svc.Spec.ClusterIP, svc.Spec.ClusterIP, a.ServiceCIDR))
			}
			ok, err := a.claim(ctx, ipKey(svc.Spec.ClusterIP))
			if err != nil {
				return apierrors.NewInternalError(err)
			}
			if !ok {
				return invalid(field.NewPath("spec", "clusterIPs"), []string{svc.Spec.ClusterIP},
					fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", svc.Spec.ClusterIP))
			}
		} else {
			ip, err := a.randomIP(ctx)
			if err != nil {
				return err
			}
			svc.Spec.ClusterIP = ip
		}
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort != 0 {
				ok, err := a.claim(ctx, portKey(int(p.NodePort)))
				if err != nil {
					return apierrors.NewInternalError(err)
				}
				if !ok {
					return invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort, "provided port is already allocated")
				}
				continue
			}
			port, err := a.randomPort(ctx)
			if err != nil {
				return err
			}
			p.NodePort = int32(port)
		}
	}
	return nil
}

func (a *Admission) randomIP(ctx context.Context) (string, error) {
	base := a.ServiceCIDR.Masked().Addr().As4()
	size := uint32(1) << (32 - a.ServiceCIDR.Bits())
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	for range 64 {
		// Skip the network address and the first IP (the kubernetes service).
		off := 2 + rand.Uint32N(size-3)
		v := start + off
		ip := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
		ok, err := a.claim(ctx, ipKey(ip))
		if err != nil {
			return "", apierrors.NewInternalError(err)
		}
		if ok {
			return ip, nil
		}
	}
	return "", apierrors.NewInternalError(errAllocated("range is full"))
}

func (a *Admission) randomPort(ctx context.Context) (int, error) {
	n := a.NodePortMax - a.NodePortMin + 1
	for range 64 {
		p := a.NodePortMin + rand.IntN(n)
		ok, err := a.claim(ctx, portKey(p))
		if err != nil {
			return 0, apierrors.NewInternalError(err)
		}
		if ok {
			return p, nil
		}
	}
	return 0, apierrors.NewInternalError(errAllocated("node port range is full"))
}
