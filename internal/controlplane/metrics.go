package controlplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// registerProcessMetrics adds the series upstream's kube-apiserver also
// serves and that `kplane test` reads to measure a control plane it may
// only reach over HTTPS: process_cpu_seconds_total and
// process_resident_memory_bytes (and the other process_* series), and
// etcd's database size, asked from etcd itself at scrape time so it is
// right for embedded and external etcd alike. A registry that already
// has them (a caller registered its own) is left as it is.
func registerProcessMetrics(reg prometheus.Registerer, etcd *clientv3.Client) error {
	if err := register(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return err
	}
	return register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "etcd_mvcc_db_total_size_in_bytes",
		Help: "Total size of the underlying database physically allocated in bytes, as reported by the first etcd endpoint.",
	}, func() float64 {
		eps := etcd.Endpoints()
		if len(eps) == 0 {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := etcd.Status(ctx, eps[0])
		if err != nil {
			return 0
		}
		return float64(st.DbSize)
	}))
}

func register(reg prometheus.Registerer, c prometheus.Collector) error {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}
