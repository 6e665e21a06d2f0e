package job

import (
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// indexSet is a set of completion indexes, printed as upstream's
// status.completedIndexes ("1,3-5,7").
type indexSet map[int]bool

func (s indexSet) add(ix int) { s[ix] = true }

func (s indexSet) len() int { return len(s) }

// String renders the set as sorted ranges.
func (s indexSet) String() string {
	if len(s) == 0 {
		return ""
	}
	ixs := make([]int, 0, len(s))
	for ix := range s {
		ixs = append(ixs, ix)
	}
	sort.Ints(ixs)
	var b strings.Builder
	for i := 0; i < len(ixs); {
		j := i
		for j+1 < len(ixs) && ixs[j+1] == ixs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ixs[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(ixs[j]))
		}
		i = j + 1
	}
	return b.String()
}

// parseIndexes reads completedIndexes, dropping indexes ≥ completions and
// malformed parts.
func parseIndexes(s string, completions int) indexSet {
	out := indexSet{}
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for ix := max(first, 0); ix <= last && ix < completions; ix++ {
			out.add(ix)
		}
	}
	return out
}

// podIndex is the completion index of p when valid for the job.
func podIndex(p *corev1.Pod, completions int) (int, bool) {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = p.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return 0, false
	}
	ix, err := strconv.Atoi(v)
	if err != nil || ix < 0 || ix >= completions {
		return 0, false
	}
	return ix, true
}

// excessIndexed lists active pods whose index is invalid, already
// succeeded, or held by another active pod.
func excessIndexed(st *syncState) []*corev1.Pod {
	n := completions(st.job)
	seen := map[int]bool{}
	var out []*corev1.Pod
	for _, p := range st.active {
		ix, ok := podIndex(p, n)
		if !ok || st.succeededIdx[ix] || seen[ix] {
			out = append(out, p)
			continue
		}
		seen[ix] = true
	}
	return out
}

// missingIndexes returns up to n indexes without a success or an active
// pod (or terminating pod, when only failed pods are replaced), lowest
// first.
func missingIndexes(st *syncState, n int) []int {
	total := completions(st.job)
	taken := map[int]bool{}
	for _, p := range st.pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.DeletionTimestamp != nil && !onlyReplaceFailed(st.job) {
			continue
		}
		if ix, ok := podIndex(p, total); ok {
			taken[ix] = true
		}
	}
	var out []int
	for ix := 0; ix < total && len(out) < n; ix++ {
		if !st.succeededIdx[ix] && !taken[ix] {
			out = append(out, ix)
		}
	}
	return out
}
