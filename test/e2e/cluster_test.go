package e2e

import "testing"

// TestKubectl starts one server and runs every kubectl command group against
// it. Groups run in parallel, each in its own namespace(s), which keeps the
// package fast on small machines while still sharing nothing but the server.
func TestKubectl(t *testing.T) {
	requireKubectl(t)
	s := startServer(t, t.TempDir())
	k := newKubectl(t, s)

	groups := []struct {
		name string
		run  func(*testing.T, *kubectl)
	}{
		{"get", testGet},
		{"watch", testWatch},
		{"tables", testTables},
		{"create", testCreate},
		{"apply", testApply},
		{"server-side-apply", testServerSideApply},
		{"dry-run", testDryRun},
		{"generators", testGenerators},
		{"edit", testEdit},
		{"patch", testPatch},
		{"label-annotate", testLabelAnnotate},
		{"scale", testScale},
		{"delete", testDelete},
		{"discovery", testDiscovery},
		{"describe-explain", testDescribeExplain},
		{"auth", testAuth},
		{"pods", testPods},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, k)
		})
	}
}
