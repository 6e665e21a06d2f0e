package apiserver_test

// Write-path benchmarks shaped like kplane's pipeline at scale: the
// scheduler binding pods (POST pods/binding) and hollow nodes patching pod
// status (merge PATCH pods/status), both over protobuf from concurrent
// goroutines, as those components send them. Run with
//
//	go test -run='^$' -bench='BindPod|PatchPodStatus' -benchmem -kplane.nofsync ./internal/apiserver/
//
// -kplane.nofsync leaves the CPU cost; with fsync the WAL dominates.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// createPods creates n unbound pods named prefix+i in ns with 16 workers.
func (c *benchCluster) createPods(b *testing.B, ns, prefix string, n int) {
	b.Helper()
	ctx := context.Background()
	client := c.clients["protobuf"].CoreV1().Pods(ns)
	tmpl := benchPodForCreate(benchPod(ns, "", 0))
	tmpl.Spec.NodeName = "" // the fixture is already bound
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		firstErr error
		errOnce  sync.Once
	)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				p := *tmpl // shallow copy: the client only reads it
				p.Name = prefix + fmt.Sprint(i)
				if _, err := client.Create(ctx, &p, metav1.CreateOptions{}); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("create pod %d in %s: %w", i, ns, err) })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// BenchmarkBindPodParallel binds one fresh pod per op to a node through the
// binding subresource, as the scheduler's binder does. The b.N pods are
// created before the timer starts.
func BenchmarkBindPodParallel(b *testing.B) {
	c := benchClusterFor(b)
	const ns = "bench-bind"
	if err := c.namespace(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(errors.Unwrap(err)) {
		b.Fatal(err)
	}
	prefix := fmt.Sprintf("bind-%d-", benchRunID.Add(1))
	c.createPods(b, ns, prefix, b.N)
	pods := c.clients["protobuf"].CoreV1().Pods(ns)
	benchTimed(b, true, func(ctx context.Context, i int) error {
		name := prefix + fmt.Sprint(i-1) // benchTimed's parallel i starts at 1
		return pods.Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Target:     corev1.ObjectReference{Kind: "Node", Name: fmt.Sprintf("node-%d", i%100)},
		}, metav1.CreateOptions{})
	})
}

// BenchmarkPatchPodStatusParallel merge-patches the status of 1,000 pods
// round-robin, each patch carrying the uid precondition and the whole
// status with a new probe time, as a hollow node's status writer does.
func BenchmarkPatchPodStatusParallel(b *testing.B) {
	c := benchClusterFor(b)
	const n = 1000
	ns := c.podsIn(b, n)
	ctx := context.Background()
	pods := c.clients["protobuf"].CoreV1().Pods(ns)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if len(list.Items) != n {
		b.Fatalf("listed %d pods, want %d", len(list.Items), n)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := benchRunID.Add(1)
	benchTimed(b, true, func(ctx context.Context, i int) error {
		p := &list.Items[i%n]
		st := p.Status.DeepCopy()
		st.Conditions[0].LastProbeTime = metav1.NewTime(base.Add(time.Duration(run)*time.Hour + time.Duration(i)*time.Second))
		body, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": p.UID}, "status": st})
		if err != nil {
			return err
		}
		_, err = pods.Patch(ctx, p.Name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
		return err
	})
}
