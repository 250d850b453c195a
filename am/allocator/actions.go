package allocator

// Action is a decision the AM loop carries out: Launch, Release, Exit or Failed.
type Action interface{ isAction() }

// Launch starts executor ExecutorID in Container (the AM may start many at once).
type Launch struct {
	Container  Container
	ExecutorID string
}

// Release gives a container back to the RM: add ContainerID to the next allocate's
// releases.
type Release struct {
	ContainerID string
	Reason      string
}

// Exit reports a classified end of an executor's container.
type Exit struct {
	ContainerID, ExecutorID string
	Kind                    ExitKind
	// CountsAsFailure is true when the application caused the exit, so it counts
	// toward Config.MaxExecutorFailures.
	CountsAsFailure bool
	Message         string
	// Status is the container's exit status as YARN reported it
	// (yarn.ExitKilledExceededPMem, …, or the process's exit code), and
	// Diagnostics the NodeManager's text, which Message quotes.
	Status      int32
	Diagnostics string
}

// Failed ends the application: too many executors failed. It is returned once.
type Failed struct{ Reason string }

func (Launch) isAction()  {}
func (Release) isAction() {}
func (Exit) isAction()    {}
func (Failed) isAction()  {}
