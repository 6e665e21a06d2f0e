package componentserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

// Config configures a Server. Zero values get the defaults documented on
// each field.
type Config struct {
	// Name of the component, used in the self-signed certificate and the
	// logs (required).
	Name string
	// Address to listen on, host:port (required); port 0 picks a free
	// port (see Server.Addr).
	Address string
	// RESTConfig is the component's own identity: it creates the
	// TokenReviews and SubjectAccessReviews, and its CA is the one client
	// certificates must chain to (required).
	RESTConfig *rest.Config
	// Gatherer is what /metrics exposes (required).
	Gatherer prometheus.Gatherer
	// Protected are extra endpoints by path pattern (http.ServeMux syntax),
	// served to authenticated users whom a SubjectAccessReview allows the
	// request's verb on the path, like /metrics. Default none.
	Protected map[string]http.Handler
	// Ready is closed once the component is ready; /readyz fails until
	// then. Default nil: always ready.
	Ready <-chan struct{}
	// AuthCacheTTL is how long authentication and authorization decisions
	// are reused; default 10s, as upstream's delegated auth.
	AuthCacheTTL time.Duration
	// Now is the clock of the caches; default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.AuthCacheTTL == 0 {
		c.AuthCacheTTL = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("a component name is required"))
	}
	if c.Address == "" {
		errs = append(errs, errors.New("an address is required"))
	}
	if c.RESTConfig == nil {
		errs = append(errs, errors.New("a client config (kubeconfig) is required for delegated authentication"))
	}
	if c.Gatherer == nil {
		errs = append(errs, errors.New("a metrics gatherer is required"))
	}
	if c.AuthCacheTTL < 0 {
		errs = append(errs, fmt.Errorf("auth cache TTL must not be negative, got %s", c.AuthCacheTTL))
	}
	return errors.Join(errs...)
}
