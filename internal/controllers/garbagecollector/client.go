package garbagecollector

import (
	"fmt"
	"net/url"

	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"kplane/internal/controllers"
)

// writerClient returns a metadata client that authenticates like
// ctx.Client (the collector's own service account, which may delete
// anything) rather than like ctx.Metadata (the manager's identity, which
// may only list and watch). It shares ctx.Client's transport and rate
// limiter. Without a REST client to borrow from it falls back to
// ctx.Metadata.
func writerClient(ctx controllers.Context) (metadata.Interface, error) {
	rc, ok := ctx.Client.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil || rc.Client == nil {
		return ctx.Metadata, nil
	}
	u := rc.Get().URL()
	base := &url.URL{Scheme: u.Scheme, Host: u.Host}
	cfg := &rest.Config{Host: base.String(), RateLimiter: rc.GetRateLimiter(), UserAgent: "kplane-controller-manager/generic-garbage-collector"}
	m, err := metadata.NewForConfigAndClient(cfg, rc.Client)
	if err != nil {
		return nil, fmt.Errorf("garbage collector metadata client: %w", err)
	}
	return m, nil
}
