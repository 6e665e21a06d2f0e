package storage_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"kplane/internal/etcd"
	"kplane/internal/storage"
	"kplane/internal/testutil"
)

// benchPod is the shared realistic pod (about 2 KB of protobuf) with the
// metadata the API server would have set before storing it.
func benchPod(ns, name string, i int) *corev1.Pod {
	p := testutil.RealisticPod(ns, name, i)
	p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	p.UID = types.UID(fmt.Sprintf("7d0c8a8e-0000-4000-8000-%012d", i))
	p.CreationTimestamp = *p.Status.StartTime
	return p
}

func newBenchCodec(b *testing.B) *storage.Codec {
	b.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatalf("scheme: %v", err)
	}
	return storage.NewCodec(scheme)
}

// BenchmarkCodec measures the etcd value codec on one realistic pod.
func BenchmarkCodec(b *testing.B) {
	codec := newBenchCodec(b)
	pod := benchPod("bench", "web-0", 0)
	data, err := codec.Encode(pod)
	if err != nil {
		b.Fatalf("encode: %v", err)
	}
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := codec.Encode(pod); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			obj, err := codec.Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			if obj.(*corev1.Pod).Name != "web-0" {
				b.Fatalf("decoded %v", obj)
			}
		}
	})
}

// BenchmarkStore measures Store against an embedded etcd with fsync on
// (the default, as in production), so Create includes a WAL fsync per
// commit; parallel creates share fsyncs through etcd's batching. One etcd
// serves all sub-benchmarks and is closed when they finish.
func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	srv, err := etcd.New(etcd.Config{DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	client, err := srv.Client()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Close() })
	store := storage.New(client, newBenchCodec(b), nil)

	var seq atomic.Int64
	create := func(ns string) error {
		n := int(seq.Add(1))
		name := fmt.Sprintf("web-%d", n)
		_, err := store.Create(ctx, "/registry/pods/"+ns+"/"+name, "pods", benchPod(ns, name, n))
		return err
	}
	b.Run("Create", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := create("create"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := create("create"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	const listed = 1000
	names := make([]string, listed)
	var wg sync.WaitGroup
	errs := make(chan error, listed)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < listed; i += 16 {
				names[i] = fmt.Sprintf("web-%d", i)
				key := "/registry/pods/list/" + names[i]
				if _, err := store.Create(ctx, key, "pods", benchPod("list", names[i], i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := store.Get(ctx, "/registry/pods/list/"+names[i%listed], "pods"); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("List1k", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := store.List(ctx, "/registry/pods/list/", "pods", storage.ListOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Items) != listed {
				b.Fatalf("listed %d pods, want %d", len(res.Items), listed)
			}
		}
	})
}
