package apis

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func eventV1(mut ...func(*eventsv1.Event)) *eventsv1.Event {
	now := metav1.NewMicroTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e := &eventsv1.Event{
		ObjectMeta:          meta("web.1"),
		EventTime:           now,
		ReportingController: "kplane.io/scheduler",
		ReportingInstance:   "scheduler-1",
		Action:              "Binding",
		Reason:              "Scheduled",
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Note:                "assigned to node-1",
		Type:                corev1.EventTypeNormal,
	}
	for _, m := range mut {
		m(e)
	}
	return e
}

func TestEventRoundTrip(t *testing.T) {
	in := eventV1(func(e *eventsv1.Event) {
		e.Series = &eventsv1.EventSeries{Count: 3, LastObservedTime: e.EventTime}
		e.Related = &corev1.ObjectReference{Kind: "Node", Name: "node-1"}
		e.DeprecatedSource = corev1.EventSource{Component: "old"}
		e.DeprecatedCount = 2
		e.DeprecatedFirstTimestamp = metav1.Unix(1, 0)
	})
	core, err := EventToCore(in)
	if err != nil {
		t.Fatal(err)
	}
	if core.InvolvedObject.Name != "web" || core.Message != in.Note || core.ReportingController != in.ReportingController ||
		core.Source.Component != "old" || core.Count != 2 || core.Series.Count != 3 || !core.FirstTimestamp.Equal(&in.DeprecatedFirstTimestamp) {
		t.Fatalf("core event = %+v", core)
	}
	back, err := EventFromCore(core)
	if err != nil {
		t.Fatal(err)
	}
	in.TypeMeta = back.TypeMeta
	if !semanticEqual(back, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, in)
	}
	if _, err := EventToCore(nil); err == nil {
		t.Fatal("nil event accepted")
	}
}

func TestValidateEventsV1(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*eventsv1.Event)
		want []string
	}{
		{name: "valid"},
		{
			name: "missing eventTime",
			mut:  func(e *eventsv1.Event) { e.EventTime = metav1.MicroTime{} },
			want: []string{"eventTime: Required value"},
		},
		{
			name: "missing reporting fields",
			mut: func(e *eventsv1.Event) {
				e.ReportingController, e.ReportingInstance, e.Action, e.Reason = "", "", "", ""
			},
			want: []string{"reportingController: Required value", "reportingInstance: Required value", "action: Required value", "reason: Required value"},
		},
		{
			name: "bad type",
			mut:  func(e *eventsv1.Event) { e.Type = "Info" },
			want: []string{`type: Invalid value: "": has invalid value: Info`},
		},
		{
			name: "deprecated fields set",
			mut:  func(e *eventsv1.Event) { e.DeprecatedCount = 1 },
			want: []string{`deprecatedCount: Invalid value: "": needs to be unset`},
		},
		{
			name: "series too short",
			mut:  func(e *eventsv1.Event) { e.Series = &eventsv1.EventSeries{Count: 1, LastObservedTime: e.EventTime} },
			want: []string{`series.count: Invalid value: "": should be at least 2`},
		},
		{
			name: "cluster-scoped regarding outside default namespace",
			mut:  func(e *eventsv1.Event) { e.Namespace, e.Regarding.Namespace = "other", "" },
			want: []string{`involvedObject.namespace: Invalid value: "": does not match event.namespace`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := eventV1()
			if tc.mut != nil {
				tc.mut(e)
			}
			checkErrs(t, ValidateEventsV1(e), tc.want...)
		})
	}
	t.Run("update", func(t *testing.T) {
		old := eventV1()
		obj := old.DeepCopy()
		obj.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: old.EventTime}
		checkErrs(t, ValidateEventsV1Update(obj, old))
		obj.Note = "changed"
		checkErrs(t, ValidateEventsV1Update(obj, old), `message: Invalid value: "changed": field is immutable`)
	})
}
