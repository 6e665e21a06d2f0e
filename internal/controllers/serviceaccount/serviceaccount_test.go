package serviceaccount_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

func TestDefaultServiceAccountCreatedAndRecreated(t *testing.T) {
	ctx := context.Background()
	admin := controllertest.Start(t, manager.Config{Controllers: []string{"serviceaccount"}}).Admin
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForSA := func(what string) *corev1.ServiceAccount {
		t.Helper()
		var sa *corev1.ServiceAccount
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := admin.CoreV1().ServiceAccounts("team-a").Get(ctx, "default", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			sa = got
			return err == nil, err
		})
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		return sa
	}
	first := waitForSA("default service account in a new namespace")
	if err := admin.CoreV1().ServiceAccounts("team-a").Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := admin.CoreV1().ServiceAccounts("team-a").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && got.UID != first.UID, err
	})
	if err != nil {
		t.Fatalf("waiting for the deleted default service account to be recreated: %v", err)
	}
}
