package hollownode

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{RESTConfig: &rest.Config{}, Count: 10}
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		wantErr []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"no client and no nodes", func(c *Config) { c.RESTConfig, c.Count = nil, 0 }, []string{"RESTConfig is required", "count must be at least 1"}},
		{"cluster CIDR too small", func(c *Config) { c.ClusterCIDR, c.Count = "10.0.0.0/22", 5 }, []string{"room for 4 /24 podCIDRs, need 5"}},
		{"IPv6", func(c *Config) { c.ClusterCIDR = "fd00::/48" }, []string{"only IPv4"}},
		{"renew above duration", func(c *Config) { c.LeaseDuration, c.LeaseRenewInterval = 5*time.Second, 10*time.Second }, []string{"lease renew interval"}},
		{"failure rate", func(c *Config) { c.Pods.FailureRate = 2 }, []string{"failure rate must be in [0,1]"}},
		{"node IPs", func(c *Config) { c.NodeIPCIDR, c.Count = "10.0.0.0/30", 3 }, []string{"too small for 3 nodes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			err := c.withDefaults().Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}
