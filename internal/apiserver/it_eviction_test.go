package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kplane/internal/controlplane"
)

// TestEvictionBudgetSelectors checks which budgets guard a pod, as
// upstream's policy/v1 eviction does: an empty selector covers every pod
// in the namespace, a non-matching one covers none, and a budget's 429
// carries no Retry-After (that header is for the in-flight limit).
func TestEvictionBudgetSelectors(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	c, _ := adminClientset(t, cp)
	ctx := context.Background()
	raw := httpClient(cp, adminCert(t, cp))

	cases := []struct {
		name     string
		selector *metav1.LabelSelector
		wantCode int
	}{
		{"empty selector guards every pod", &metav1.LabelSelector{}, http.StatusTooManyRequests},
		{"matching selector guards", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, http.StatusTooManyRequests},
		{"other selector does not guard", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, http.StatusCreated},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := fmt.Sprintf("evict-%d", i)
			if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns, Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			}
			if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			minAvailable := intstr.FromInt32(1)
			pdb := &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Name: "budget", Namespace: ns},
				Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: tc.selector},
			}
			if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			body := []byte(fmt.Sprintf(`{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-0","namespace":%q}}`, ns))
			resp := do(t, raw, http.MethodPost, cp.URL()+"/api/v1/namespaces/"+ns+"/pods/web-0/eviction", body,
				map[string]string{"Content-Type": "application/json"})
			if resp.code != tc.wantCode {
				t.Fatalf("eviction: code %d, want %d: %s", resp.code, tc.wantCode, resp.body)
			}
			if resp.code == http.StatusTooManyRequests {
				if got := resp.header.Get("Retry-After"); got != "" {
					t.Errorf("budget 429 has Retry-After %q, upstream sends none", got)
				}
				if st := resp.status(); st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Type != policyv1.DisruptionBudgetCause {
					t.Errorf("429 status lacks the DisruptionBudget cause: %+v", st)
				}
			}
		})
	}
}
