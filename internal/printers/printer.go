package printers

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ErrUnexpectedType is returned by a Printer's Row when it is handed an
// object of a different Go type than the kind it prints (or a nil pointer);
// the API server treats it as an internal error rather than printing garbage.
var ErrUnexpectedType = errors.New("printers: unexpected object type")

// Printer turns one object of a kind into a table row; the API server
// assembles metav1.Table (rows, object metadata, includeObject,
// resourceVersion/continue) itself.
type Printer struct {
	// Columns are the table's column definitions, identical to upstream's.
	Columns []metav1.TableColumnDefinition
	// Row returns one row's cells, len == len(Columns). Cells are JSON
	// primitives (string, int64, bool). now is the reference time for AGE
	// style columns.
	Row func(obj runtime.Object, now time.Time) ([]interface{}, error)
}

// Group names used as keys by For.
const (
	groupCore         = ""
	groupApps         = "apps"
	groupBatch        = "batch"
	groupAutoscaling  = "autoscaling"
	groupPolicy       = "policy"
	groupCoordination = "coordination.k8s.io"
	groupDiscovery    = "discovery.k8s.io"
	groupNetworking   = "networking.k8s.io"
	groupStorage      = "storage.k8s.io"
	groupScheduling   = "scheduling.k8s.io"
	groupRBAC         = "rbac.authorization.k8s.io"
	groupEvents       = "events.k8s.io"
	groupNode         = "node.k8s.io"
	groupAdmissionReg = "admissionregistration.k8s.io"
	groupCertificates = "certificates.k8s.io"
)

// For returns the printer for a kind, or nil when the kind has none; the API
// server then uses Default. The returned Printer is freshly built and owned
// by the caller, so callers on hot paths should build it once per resource.
func For(gk schema.GroupKind) *Printer {
	switch gk.Group {
	case groupCore:
		return coreFor(gk.Kind)
	case groupApps:
		return appsFor(gk.Kind)
	case groupBatch:
		return batchFor(gk.Kind)
	case groupAutoscaling:
		if gk.Kind == "HorizontalPodAutoscaler" {
			return hpaPrinter()
		}
	case groupPolicy:
		if gk.Kind == "PodDisruptionBudget" {
			return pdbPrinter()
		}
	case groupCoordination:
		if gk.Kind == "Lease" {
			return leasePrinter()
		}
	case groupDiscovery:
		if gk.Kind == "EndpointSlice" {
			return endpointSlicePrinter()
		}
	case groupNetworking:
		return networkingFor(gk.Kind)
	case groupStorage:
		return storageFor(gk.Kind)
	case groupScheduling:
		if gk.Kind == "PriorityClass" {
			return priorityClassPrinter()
		}
	case groupRBAC:
		return rbacFor(gk.Kind)
	case groupEvents:
		// events.k8s.io Events are stored as core Events; upstream prints
		// both groups with the same (internal) printer.
		if gk.Kind == "Event" {
			return eventPrinter()
		}
	case groupNode:
		if gk.Kind == "RuntimeClass" {
			return runtimeClassPrinter()
		}
	case groupAdmissionReg:
		return admissionFor(gk.Kind)
	case groupCertificates:
		if gk.Kind == "CertificateSigningRequest" {
			return csrPrinter()
		}
	}
	return nil
}

// Default prints NAME and CREATED AT like upstream's default table
// convertor (metadata.name, creationTimestamp formatted RFC3339 in UTC). It
// accepts any object with ObjectMeta.
func Default() *Printer {
	return &Printer{
		Columns: []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
			{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
		},
		Row: func(obj runtime.Object, _ time.Time) ([]interface{}, error) {
			m, err := meta.Accessor(obj)
			if err != nil {
				return nil, fmt.Errorf("%w: %T has no object metadata: %w", ErrUnexpectedType, obj, err)
			}
			return []interface{}{m.GetName(), m.GetCreationTimestamp().Time.UTC().Format(time.RFC3339)}, nil
		},
	}
}

// typed builds a Printer whose Row accepts only *E, so each kind's row
// function can work on its concrete type.
func typed[E any, T interface {
	*E
	runtime.Object
}](cols []metav1.TableColumnDefinition, row func(T, time.Time) ([]interface{}, error)) *Printer {
	return &Printer{
		Columns: cols,
		Row: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
			o, ok := obj.(T)
			if !ok || o == nil {
				return nil, fmt.Errorf("%w: got %T, want %T", ErrUnexpectedType, obj, o)
			}
			return row(o, now)
		},
	}
}
