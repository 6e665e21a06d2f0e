package apiserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"kplane/internal/controlplane"
)

// TestTooOldResourceVersion compacts etcd and checks that a watch, an
// exact list and a paginated list from before the compaction get upstream's
// 410 Expired answers.
func TestTooOldResourceVersion(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	cs, _ := adminClientset(t, cp)
	ctx := context.Background()
	const ns = "old"
	createNamespace(t, cs, ns)
	cms := cs.CoreV1().ConfigMaps(ns)
	for _, name := range []string{"a", "b", "c"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || page.Continue == "" {
		t.Fatalf("first page: continue=%q err=%v", page.Continue, err)
	}
	old := page.ResourceVersion
	for i := range 3 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{"i": strconv.Itoa(i)}}
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update a: %v", err)
		}
	}
	compacted := compactNow(t, cp)

	t.Run("watch", func(t *testing.T) {
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: old})
		if err != nil {
			t.Fatalf("watch from %s: %v", old, err)
		}
		defer w.Stop()
		ev, ok := <-w.ResultChan()
		if !ok {
			t.Fatal("watch closed without an event")
		}
		st, isStatus := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !isStatus {
			t.Fatalf("first event = %s %T, want ERROR with a Status", ev.Type, ev.Object)
		}
		want := "too old resource version: " + old + " (" + strconv.FormatInt(compacted, 10) + ")"
		if st.Code != http.StatusGone || st.Reason != metav1.StatusReasonExpired || st.Message != want {
			t.Fatalf("status = %d %s %q, want 410 Expired %q", st.Code, st.Reason, st.Message, want)
		}
	})
	t.Run("exact list", func(t *testing.T) {
		_, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: old, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		if !apierrors.IsResourceExpired(err) || apierrors.ReasonForError(err) != metav1.StatusReasonExpired {
			t.Fatalf("exact list at %s: %v, want 410 Expired", old, err)
		}
		if want := "The resourceVersion for the provided list is too old."; !strings.Contains(err.Error(), want) {
			t.Fatalf("exact list error %q does not say %q", err, want)
		}
	})
	t.Run("continue", func(t *testing.T) {
		_, err := cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: page.Continue})
		if !apierrors.IsResourceExpired(err) {
			t.Fatalf("continue after compaction: %v, want 410 Expired", err)
		}
		if want := "The provided continue parameter is too old"; !strings.Contains(err.Error(), want) {
			t.Fatalf("continue error %q does not say %q", err, want)
		}
	})
	t.Run("not older than", func(t *testing.T) {
		// NotOlderThan an old revision is answered from the latest state.
		list, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: old, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
		if err != nil || len(list.Items) != 3 {
			t.Fatalf("list not older than %s: %d items, %v", old, len(list.Items), err)
		}
	})
}

// TestWatchListRaw sends the request client-go's WatchList makes and checks
// the stream: the current objects as ADDED, then a BOOKMARK annotated
// k8s.io/initial-events-end at a revision covering them.
func TestWatchListRaw(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	cs, _ := adminClientset(t, cp)
	ctx := context.Background()
	const ns = "wl"
	createNamespace(t, cs, ns)
	var maxRV int64
	for _, name := range []string{"x", "y"} {
		cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		rv, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64)
		maxRV = max(maxRV, rv)
	}
	url := cp.URL() + "/api/v1/namespaces/" + ns + "/configmaps?watch=true&sendInitialEvents=true" +
		"&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=30"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient(cp, adminCert(t, cp)).Do(req)
	if err != nil {
		t.Fatalf("watch request: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch status %d", resp.StatusCode)
	}
	dec := json.NewDecoder(resp.Body)
	var added []string
	for {
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("decode event after %q: %v", added, err)
		}
		var cm corev1.ConfigMap
		if err := json.Unmarshal(ev.Object, &cm); err != nil {
			t.Fatalf("decode %s object: %v", ev.Type, err)
		}
		if ev.Type == string(watch.Added) {
			added = append(added, cm.Name)
			continue
		}
		if ev.Type != string(watch.Bookmark) {
			t.Fatalf("got %s %s before the initial-events bookmark", ev.Type, cm.Name)
		}
		if cm.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
			t.Fatalf("bookmark annotations = %v, want %s=true", cm.Annotations, metav1.InitialEventsAnnotationKey)
		}
		if rv, _ := strconv.ParseInt(cm.ResourceVersion, 10, 64); rv < maxRV {
			t.Fatalf("bookmark resourceVersion %s is older than the objects (%d)", cm.ResourceVersion, maxRV)
		}
		break
	}
	if strings.Join(added, ",") != "x,y" {
		t.Fatalf("initial ADDED = %q, want x,y", added)
	}
}
