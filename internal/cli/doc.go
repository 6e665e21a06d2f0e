// Package cli holds kplane's cobra commands, one file per subcommand. Each
// command only binds flags (with KPLANE_* environment twins) into a
// component's Config and runs it.
package cli
