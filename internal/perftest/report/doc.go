// Package report owns the versioned result.json schema of `kplane test`
// (result.go, result.schema.json) and every way a result is shown: the text
// summary, per-pod CSV, single-file HTML with inline SVG charts, and the
// run-over-run comparison behind `kplane report compare`.
//
// It depends on nothing but the standard library so that results can be
// read, rendered and compared long after the run, on any machine.
package report
