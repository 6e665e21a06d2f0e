package printers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Placeholders upstream prints for absent values; kubectl users grep for
// these, so they must match byte for byte.
const (
	none    = "<none>"
	unknown = "<unknown>"
	unset   = "<unset>"
)

// Column helpers. Every description is taken from the same API type
// documentation upstream uses, so the Table a client sees is identical.

func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]}
}

func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]}
}

func col(name, typ, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: description}
}

// wide marks a column as priority 1: shown only by `kubectl get -o wide`.
func wide(c metav1.TableColumnDefinition) metav1.TableColumnDefinition {
	c.Priority = 1
	return c
}

func containersColumn() metav1.TableColumnDefinition {
	return wide(col("Containers", "string", "Names of each container in the template."))
}

func imagesColumn() metav1.TableColumnDefinition {
	return wide(col("Images", "string", "Images referenced by each container in the template."))
}

// age renders the time elapsed since t the way upstream's
// translateTimestampSince does: "<unknown>" for a zero time, otherwise
// duration.HumanDuration.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return unknown
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// microAge is age for MicroTime fields (events).
func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return unknown
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// containerCells lays out container names and images comma-separated on
// one line, as upstream's layoutContainerCells.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i := range containers {
		n[i] = containers[i].Name
		im[i] = containers[i].Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// listWithMore joins up to max items and summarises the rest as
// " + N more...", printing "<unset>" for an empty list.
func listWithMore(list []string, more bool, count, max int) string {
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, count-max)
	}
	if ret == "" {
		ret = unset
	}
	return ret
}

func boolPtrString(v *bool) string {
	if v == nil {
		return unset
	}
	if *v {
		return "True"
	}
	return "False"
}

func int32PtrValue(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// orNone returns s, or "<none>" when it is empty.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
