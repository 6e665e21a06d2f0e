package controllertest

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// WaitTimeout is how long Eventually waits: generous, because tests share
// two slow cores.
const WaitTimeout = 90 * time.Second

// Eventually polls cond every 100ms until it is true and fails the test
// with what if it is not within WaitTimeout or returns an error.
func Eventually(t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, WaitTimeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// SetPodReady plays kubelet: pod ns/name runs and is Ready since now (no
// scheduler or kubelet runs in these tests). It retries on conflicts.
func SetPodReady(ctx context.Context, c kubernetes.Interface, ns, name string) error {
	return SetPodRunning(ctx, c, ns, name, true, "")
}

// SetPodRunning sets pod ns/name Running with Ready and ContainersReady
// conditions of status ready since now and, if ip is not empty, that pod
// IP. It retries on conflicts.
func SetPodRunning(ctx context.Context, c kubernetes.Interface, ns, name string, ready bool, ip string) error {
	return SetPodStatus(ctx, c, ns, name, func(s *corev1.PodStatus) {
		now := metav1.Now()
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		s.Phase = corev1.PodRunning
		s.Conditions = []corev1.PodCondition{
			{Type: corev1.PodReady, Status: st, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: st, LastTransitionTime: now},
		}
		if ip != "" {
			s.PodIP, s.PodIPs = ip, []corev1.PodIP{{IP: ip}}
		}
	})
}

// SetPodStatus reads pod ns/name, applies mutate to its status and writes
// it with UpdateStatus, retrying on conflicts.
func SetPodStatus(ctx context.Context, c kubernetes.Interface, ns, name string, mutate func(*corev1.PodStatus)) error {
	for {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(&p.Status)
		_, err = c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}
