package manager

// gcControllers lists the garbage collector and namespace deletion controllers.
func gcControllers() []Entry {
	return nil
}
