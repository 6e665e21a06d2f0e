package apis

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func hpa(mut ...func(*autoscalingv2.HorizontalPodAutoscaler)) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: meta("web"),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    5,
		},
	}
	for _, m := range mut {
		m(h)
	}
	return h
}

func TestHPADefaults(t *testing.T) {
	h := hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptrTo(int32(60))},
		}
	})
	funcsFor(t, "autoscaling", "HorizontalPodAutoscaler").Default(h)
	want := autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: h.Spec.ScaleTargetRef,
		MinReplicas:    ptrTo(int32(1)),
		MaxReplicas:    5,
		Metrics:        []autoscalingv2.MetricSpec{cpuUtilizationMetric(80)},
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptrTo(int32(0)),
				SelectPolicy:               ptrTo(autoscalingv2.MaxChangePolicySelect),
				Policies: []autoscalingv2.HPAScalingPolicy{
					{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
					{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
				},
			},
			ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptrTo(int32(60)),
				SelectPolicy:               ptrTo(autoscalingv2.MaxChangePolicySelect),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
			},
		},
	}
	if !semanticEqual(h.Spec, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", h.Spec, want)
	}
	// No behavior stays no behavior.
	plain := hpa()
	DefaultHPA(plain)
	if plain.Spec.Behavior != nil {
		t.Fatalf("behavior defaulted from nothing: %+v", plain.Spec.Behavior)
	}
}

func TestHPAValidate(t *testing.T) {
	f := funcsFor(t, "autoscaling", "HorizontalPodAutoscaler")
	cases := []struct {
		name string
		mut  func(*autoscalingv2.HorizontalPodAutoscaler)
		want []string
	}{
		{name: "valid"},
		{
			name: "min above max",
			mut:  func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptrTo(int32(7)) },
			want: []string{"spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`"},
		},
		{
			name: "zero min",
			mut:  func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptrTo(int32(0)) },
			want: []string{"spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"},
		},
		{
			name: "zero max",
			mut:  func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 0 },
			want: []string{"spec.maxReplicas: Invalid value: 0: must be greater than 0"},
		},
		{
			name: "missing target kind",
			mut:  func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Kind = "" },
			want: []string{"spec.scaleTargetRef.kind: Required value"},
		},
		{
			name: "metric source mismatch",
			mut: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}}
			},
			want: []string{"spec.metrics[0].pods: Required value: must populate information for the given metric source"},
		},
		{
			name: "zero utilization",
			mut: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilizationMetric(0)}
			},
			want: []string{"spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"},
		},
		{
			name: "empty policies",
			mut: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}}
			},
			want: []string{"spec.behavior.scaleUp.policies: Required value: must specify at least one Policy"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := hpa()
			if tc.mut != nil {
				tc.mut(h)
			}
			checkErrs(t, create(f, h), tc.want...)
		})
	}
}

func TestHPAV1RoundTrip(t *testing.T) {
	qty := resource.MustParse("100")
	lastScale := metav1.Unix(1700000000, 0)
	v2 := hpa(func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Spec.MinReplicas = ptrTo(int32(2))
		h.Spec.Metrics = []autoscalingv2.MetricSpec{
			{
				Type: autoscalingv2.PodsMetricSourceType,
				Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &qty},
				},
			},
			cpuUtilizationMetric(50),
		}
		h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptrTo(int32(30)),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}},
			},
		}
		h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: ptrTo(int64(3)),
			LastScaleTime:      &lastScale,
			CurrentReplicas:    2,
			DesiredReplicas:    3,
			CurrentMetrics: []autoscalingv2.MetricStatus{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricStatus{
					Name:    corev1.ResourceCPU,
					Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptrTo(int32(70)), AverageValue: &qty},
				},
			}},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{
				Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale", LastTransitionTime: lastScale,
			}},
		}
	})
	v1, err := HPAToV1(v2)
	if err != nil {
		t.Fatal(err)
	}
	if got := v1.Spec.TargetCPUUtilizationPercentage; got == nil || *got != 50 {
		t.Fatalf("targetCPUUtilizationPercentage = %v", got)
	}
	if got := v1.Status.CurrentCPUUtilizationPercentage; got == nil || *got != 70 {
		t.Fatalf("currentCPUUtilizationPercentage = %v", got)
	}
	wantAnnotations := map[string]string{
		hpaMetricSpecsAnnotation:    `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"100"}}]`,
		hpaMetricStatusesAnnotation: `[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":70,"currentAverageValue":"100"}}]`,
		hpaConditionsAnnotation:     `[{"type":"AbleToScale","status":"True","lastTransitionTime":"2023-11-14T22:13:20Z","reason":"ReadyForNewScale"}]`,
		hpaBehaviorAnnotation:       `{"ScaleUp":null,"ScaleDown":{"StabilizationWindowSeconds":30,"SelectPolicy":null,"Policies":[{"Type":"Pods","Value":1,"PeriodSeconds":60}],"Tolerance":null}}`,
	}
	for k, want := range wantAnnotations {
		if got := v1.Annotations[k]; got != want {
			t.Errorf("annotation %s:\n got %s\nwant %s", k, got, want)
		}
	}
	back, err := HPAFromV1(v1)
	if err != nil {
		t.Fatal(err)
	}
	// The CPU metric comes back after the preserved ones, as upstream.
	want := v2.DeepCopy()
	want.TypeMeta = back.TypeMeta
	want.Spec.Metrics = []autoscalingv2.MetricSpec{v2.Spec.Metrics[0], v2.Spec.Metrics[1]}
	if !semanticEqual(back, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, want)
	}
}

func TestHPAFromV1Plain(t *testing.T) {
	v1 := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: meta("web"),
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
			MaxReplicas:    4,
		},
	}
	v2, err := HPAFromV1(v1)
	if err != nil {
		t.Fatal(err)
	}
	if !semanticEqual(v2.Spec.Metrics, []autoscalingv2.MetricSpec{cpuUtilizationMetric(80)}) {
		t.Fatalf("implicit v1 target: %+v", v2.Spec.Metrics)
	}
	if v2.Annotations != nil {
		t.Fatalf("annotations = %v", v2.Annotations)
	}
	v1.Annotations = map[string]string{hpaMetricSpecsAnnotation: "{not json"}
	if _, err := HPAFromV1(v1); err == nil {
		t.Fatal("corrupt annotation accepted")
	}
}
