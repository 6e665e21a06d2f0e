package controllertest

import (
	"context"
	"os"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kplane/internal/controllers/manager"
)

// Shared is one Env that all tests of a package share, so that they pay for
// a control plane once: the first Get starts it with Config, and the
// package's TestMain calls Stop after m.Run.
type Shared struct {
	// Config is the manager's configuration (see Env.RunManager).
	Config manager.Config

	once sync.Once
	env  *Env
	dir  string
	err  error
}

// Get returns the shared Env, starting it on first use; it fails the test
// if the Env could not start.
func (s *Shared) Get(t testing.TB) *Env {
	t.Helper()
	s.once.Do(func() {
		if s.dir, s.err = os.MkdirTemp("", "kplane-controllertest-"); s.err != nil {
			return
		}
		if s.env, s.err = StartControlPlane(s.dir); s.err != nil {
			return
		}
		if s.err = s.env.RunManager(s.Config); s.err != nil {
			_ = s.env.Stop()
			s.env = nil
		}
	})
	if s.err != nil {
		t.Fatalf("start shared control plane: %v", s.err)
	}
	return s.env
}

// Stop stops the shared Env, if it was started, and removes its data.
func (s *Shared) Stop() {
	if s.env != nil {
		_ = s.env.Stop()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// Namespace creates namespace name for one test and returns its name.
func (e *Env) Namespace(t testing.TB, name string) string {
	t.Helper()
	_, err := e.Admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}
