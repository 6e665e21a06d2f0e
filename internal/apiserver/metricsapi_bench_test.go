package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkMetricsAPI serves what `kubectl top` asks for on a cluster of
// Running pods spread over 100 nodes (testutil.RealisticPod): the pod
// metrics of one namespace (1,000 and 10,000 pods), and the metrics of
// every node, which reads every pod of the cluster.
func BenchmarkMetricsAPI(b *testing.B) {
	c := benchClusterFor(b)
	ctx := context.Background()
	for i := range 100 {
		_, err := c.clients["protobuf"].CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
	rest := c.clients["json"].CoreV1().RESTClient()
	list := func(ctx context.Context, path string, want int) error {
		raw, err := rest.Get().AbsPath(path).SetHeader("Accept", "application/json").DoRaw(ctx)
		if err != nil {
			return err
		}
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(raw, &l); err != nil {
			return err
		}
		if want >= 0 && len(l.Items) != want {
			return fmt.Errorf("%s: %d items, want %d", path, len(l.Items), want)
		}
		return nil
	}
	for _, size := range []struct {
		name string
		n    int
	}{{"1k", 1000}, {"10k", 10000}} {
		b.Run("pods-"+size.name, func(b *testing.B) {
			ns := c.podsIn(b, size.n)
			benchTimed(b, false, func(ctx context.Context, _ int) error {
				return list(ctx, "/apis/metrics.k8s.io/v1beta1/namespaces/"+ns+"/pods", size.n)
			})
		})
		b.Run("nodes-100-"+size.name+"-pods", func(b *testing.B) {
			c.podsIn(b, size.n)
			benchTimed(b, false, func(ctx context.Context, _ int) error {
				return list(ctx, "/apis/metrics.k8s.io/v1beta1/nodes", 100)
			})
		})
	}
}
