package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// eventPrinter prints core/v1 Events; events.k8s.io Events use it too since
// both are stored as core Events.
func eventPrinter() *Printer {
	doc := corev1.Event{}.SwaggerDoc()
	name := nameColumn()
	name.Priority = 1
	cols := []metav1.TableColumnDefinition{
		col("Last Seen", "string", doc["lastTimestamp"]),
		col("Type", "string", doc["type"]),
		col("Reason", "string", doc["reason"]),
		col("Object", "string", doc["involvedObject"]),
		wide(col("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"])),
		wide(col("Source", "string", doc["source"])),
		col("Message", "string", doc["message"]),
		wide(col("First Seen", "string", doc["firstTimestamp"])),
		wide(col("Count", "string", doc["count"])),
		name,
	}
	return typed(cols, eventRow)
}

func eventRow(ev *corev1.Event, now time.Time) ([]interface{}, error) {
	firstSeen := age(ev.FirstTimestamp, now)
	if ev.FirstTimestamp.IsZero() {
		firstSeen = microAge(ev.EventTime, now)
	}
	lastSeen := age(ev.LastTimestamp, now)
	if ev.LastTimestamp.IsZero() {
		lastSeen = firstSeen
	}
	count := ev.Count
	if ev.Series != nil {
		lastSeen = microAge(ev.Series.LastObservedTime, now)
		count = ev.Series.Count
	} else if count == 0 {
		// Singleton events written through events.k8s.io carry no count.
		count = 1
	}

	target := strings.ToLower(ev.InvolvedObject.Kind)
	if ev.InvolvedObject.Name != "" {
		target += "/" + ev.InvolvedObject.Name
	}

	component := ev.Source.Component
	if component == "" {
		component = ev.ReportingController
	}
	instance := ev.Source.Host
	if instance == "" {
		instance = ev.ReportingInstance
	}
	source := component
	if instance != "" {
		source = component + ", " + instance
	}

	return []interface{}{
		lastSeen,
		ev.Type,
		ev.Reason,
		target,
		ev.InvolvedObject.FieldPath,
		source,
		strings.TrimSpace(ev.Message),
		firstSeen,
		int64(count),
		ev.Name,
	}, nil
}
