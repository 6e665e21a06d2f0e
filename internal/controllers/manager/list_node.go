package manager

// nodeControllers lists the node lifecycle, service accounts, endpoints and endpoint slices controllers.
func nodeControllers() []Entry {
	return nil
}
