package apiserver

import (
	"fmt"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/printers"
)

// printerFor returns the server-side printer of a served resource.
func (s *Server) printerFor(sv *served) *printers.Printer {
	if p := sv.printer.Load(); p != nil {
		return p
	}
	p := printers.For(schema.GroupKind{Group: sv.res.Group, Kind: sv.res.Kind})
	if p == nil {
		p = printers.Default()
	}
	sv.printer.Store(p)
	return p
}

// transform answers as=Table and as=PartialObjectMetadata[List] requests.
// noHeaders drops column definitions (watch events after the first).
func (s *Server) transform(r *http.Request, sv *served, t target, items []runtime.Object, lm *listMeta, noHeaders bool) (runtime.Object, error) {
	apiVersion := "meta.k8s.io/" + t.asVersion
	switch t.as {
	case "Table":
		return s.table(r, sv, apiVersion, items, lm, noHeaders)
	case "PartialObjectMetadata":
		if lm != nil {
			return nil, s.notAcceptable()
		}
		return partialMetadata(sv, items[0], apiVersion)
	case "PartialObjectMetadataList":
		if lm == nil {
			return nil, s.notAcceptable()
		}
		list := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "PartialObjectMetadataList"}}
		list.ResourceVersion, list.Continue, list.RemainingItemCount = lm.rv, lm.cont, lm.remaining
		for _, it := range items {
			pm, err := partialMetadata(sv, it, "")
			if err != nil {
				return nil, err
			}
			pm.TypeMeta = metav1.TypeMeta{}
			list.Items = append(list.Items, *pm)
		}
		return list, nil
	}
	return nil, s.notAcceptable()
}

func partialMetadata(sv *served, obj runtime.Object, apiVersion string) (*metav1.PartialObjectMetadata, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	pm := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "PartialObjectMetadata"}}
	var om *metav1.ObjectMeta
	if oma, ok := obj.(metav1.ObjectMetaAccessor); ok {
		om, _ = oma.GetObjectMeta().(*metav1.ObjectMeta)
	}
	if om != nil {
		pm.ObjectMeta = *om.DeepCopy()
	} else {
		pm.ObjectMeta = metav1.ObjectMeta{Name: acc.GetName(), Namespace: acc.GetNamespace(), UID: acc.GetUID(), ResourceVersion: acc.GetResourceVersion(), Labels: acc.GetLabels(), Annotations: acc.GetAnnotations()}
	}
	return pm, nil
}

// table builds a metav1.Table; includeObject=Metadata (the default) embeds
// PartialObjectMetadata, Object the full object, None nothing.
func (s *Server) table(r *http.Request, sv *served, apiVersion string, items []runtime.Object, lm *listMeta, noHeaders bool) (runtime.Object, error) {
	include := metav1.IncludeMetadata
	switch v := r.URL.Query().Get("includeObject"); v {
	case "", "Metadata":
	case "Object":
		include = metav1.IncludeObject
	case "None":
		include = metav1.IncludeNone
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject: Unsupported value: %q", v))
	}
	p := s.printerFor(sv)
	tbl := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "Table"}}
	if !noHeaders {
		tbl.ColumnDefinitions = p.Columns
	}
	if lm != nil {
		tbl.ResourceVersion, tbl.Continue, tbl.RemainingItemCount = lm.rv, lm.cont, lm.remaining
	} else if len(items) == 1 {
		if acc, err := meta.Accessor(items[0]); err == nil {
			tbl.ResourceVersion = acc.GetResourceVersion()
		}
	}
	now := time.Now()
	tbl.Rows = make([]metav1.TableRow, 0, len(items))
	for _, it := range items {
		cells, err := p.Row(it, now)
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("print %s: %w", sv.res.Kind, err))
		}
		row := metav1.TableRow{Cells: cells}
		switch include {
		case metav1.IncludeMetadata:
			pm, err := partialMetadata(sv, it, "meta.k8s.io/v1")
			if err != nil {
				return nil, err
			}
			row.Object = runtime.RawExtension{Object: pm}
		case metav1.IncludeObject:
			o, err := toServed(sv, it)
			if err != nil {
				return nil, err
			}
			row.Object = runtime.RawExtension{Object: o}
		}
		tbl.Rows = append(tbl.Rows, row)
	}
	return tbl, nil
}
