// Package e2e holds kplane's black-box end-to-end tests. They build the real
// kplane binary once per test run (in TestMain), start `kplane up` as a child
// process on a temporary data directory and drive it with the real kubectl
// binary, exactly as a user would. Nothing here imports kplane's internal
// packages: if a kubectl workflow breaks, these tests should say so even when
// every unit and integration test still passes.
//
// Layout: main_test.go builds the binary; server_test.go starts, stops and
// kills server processes; kubectl_test.go runs kubectl; the remaining files
// each cover one group of kubectl commands as subtests of TestKubectl (one
// shared server) or, for restart and crash durability, TestRestart (its own
// server process lineage on one data directory).
//
// The tests skip when kubectl is not on PATH. Run them with
//
//	go test ./test/e2e/
//
// or, to test a binary built elsewhere instead of building ./cmd/kplane,
//
//	KPLANE_E2E_BINARY=/path/to/kplane go test ./test/e2e/
package e2e
