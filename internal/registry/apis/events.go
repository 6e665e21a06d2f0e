package apis

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits upstream applies to events that have an eventTime.
const (
	eventReportingInstanceLimit = 128
	eventActionLimit            = 128
	eventReasonLimit            = 128
	eventNoteLimit              = 1024
)

// errNilEvent is returned when a conversion is handed no object.
var errNilEvent = errors.New("nil event")

// EventToCore converts an events.k8s.io/v1 Event to the core/v1 Event it is
// stored as (upstream keeps both APIs in one etcd resource): regarding
// becomes involvedObject, note message, reportingController
// reportingComponent, and the deprecated* fields their core originals.
func EventToCore(in *eventsv1.Event) (*corev1.Event, error) {
	if in == nil {
		return nil, errNilEvent
	}
	in = in.DeepCopy()
	out := &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:          in.ObjectMeta,
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		Related:             in.Related,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	return out, nil
}

// EventFromCore converts a stored core/v1 Event to events.k8s.io/v1; it is
// the exact inverse of EventToCore.
func EventFromCore(in *corev1.Event) (*eventsv1.Event, error) {
	if in == nil {
		return nil, errNilEvent
	}
	in = in.DeepCopy()
	out := &eventsv1.Event{
		TypeMeta:                 metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
		ObjectMeta:               in.ObjectMeta,
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Related:                  in.Related,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	return out, nil
}

// ValidateEventsV1 applies the rules upstream enforces on events created
// through events.k8s.io/v1 (stricter than core/v1): eventTime,
// reportingController, reportingInstance, action and reason are required,
// type must be Normal or Warning and the deprecated fields must be unset.
// Paths name the stored (core) fields, as upstream's do.
func ValidateEventsV1(ev *eventsv1.Event) field.ErrorList {
	e, err := EventToCore(ev)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	errs := legacyEventRules(e)
	errs = append(errs, validateObjectMeta(&e.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)...)
	errs = append(errs, validateEventSeries(e)...)
	if e.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", e.Type)))
	}
	if !e.FirstTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("deprecatedFirstTimestamp"), "", "needs to be unset"))
	}
	if !e.LastTimestamp.IsZero() {
		errs = append(errs, field.Invalid(field.NewPath("deprecatedLastTimestamp"), "", "needs to be unset"))
	}
	if e.Count != 0 {
		errs = append(errs, field.Invalid(field.NewPath("deprecatedCount"), "", "needs to be unset"))
	}
	if e.Source.Component != "" || e.Source.Host != "" {
		errs = append(errs, field.Invalid(field.NewPath("deprecatedSource"), "", "needs to be unset"))
	}
	return errs
}

// ValidateEventsV1Update checks an update made through events.k8s.io/v1:
// everything but the series and metadata is immutable.
func ValidateEventsV1Update(ev, old *eventsv1.Event) field.ErrorList {
	e, err := EventToCore(ev)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	o, err := EventToCore(old)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	errs := legacyEventRules(e)
	errs = append(errs, validateObjectMetaUpdate(&e.ObjectMeta, &o.ObjectMeta, metadataPath)...)
	if !semanticEqual(e.Series, o.Series) {
		errs = append(errs, validateEventSeries(e)...)
	}
	for _, f := range []struct {
		name     string
		new, old any
	}{
		{"involvedObject", e.InvolvedObject, o.InvolvedObject},
		{"reason", e.Reason, o.Reason},
		{"message", e.Message, o.Message},
		{"source", e.Source, o.Source},
		{"firstTimestamp", e.FirstTimestamp, o.FirstTimestamp},
		{"lastTimestamp", e.LastTimestamp, o.LastTimestamp},
		{"count", e.Count, o.Count},
		{"reason", e.Reason, o.Reason},
		{"type", e.Type, o.Type},
		{"eventTime", e.EventTime, o.EventTime},
		{"action", e.Action, o.Action},
		{"related", e.Related, o.Related},
		{"reportingController", e.ReportingController, o.ReportingController},
		{"reportingInstance", e.ReportingInstance, o.ReportingInstance},
	} {
		errs = append(errs, immutable(f.new, f.old, field.NewPath(f.name))...)
	}
	return errs
}

// legacyEventRules are the checks every event passes whatever API wrote it,
// with the events.k8s.io field name for the reporting controller.
func legacyEventRules(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		rc := field.NewPath("reportingController")
		if e.ReportingController == "" {
			errs = append(errs, field.Required(rc, ""))
		}
		for _, msg := range validation.IsQualifiedName(e.ReportingController) {
			errs = append(errs, field.Invalid(rc, e.ReportingController, msg))
		}
		if e.ReportingInstance == "" {
			errs = append(errs, field.Required(field.NewPath("reportingInstance"), ""))
		}
		if len(e.ReportingInstance) > eventReportingInstanceLimit {
			errs = append(errs, field.Invalid(field.NewPath("reportingInstance"), "", fmt.Sprintf("can have at most %v characters", eventReportingInstanceLimit)))
		}
		if e.Action == "" {
			errs = append(errs, field.Required(field.NewPath("action"), ""))
		}
		if len(e.Action) > eventActionLimit {
			errs = append(errs, field.Invalid(field.NewPath("action"), "", fmt.Sprintf("can have at most %v characters", eventActionLimit)))
		}
		if e.Reason == "" {
			errs = append(errs, field.Required(field.NewPath("reason"), ""))
		}
		if len(e.Reason) > eventReasonLimit {
			errs = append(errs, field.Invalid(field.NewPath("reason"), "", fmt.Sprintf("can have at most %v characters", eventReasonLimit)))
		}
		if len(e.Message) > eventNoteLimit {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", eventNoteLimit)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(e.Namespace) {
		errs = append(errs, field.Invalid(field.NewPath("namespace"), e.Namespace, msg))
	}
	return errs
}

func validateEventSeries(e *corev1.Event) field.ErrorList {
	if e.Series == nil {
		return nil
	}
	var errs field.ErrorList
	if e.Series.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
	}
	if e.Series.LastObservedTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
	}
	return errs
}
