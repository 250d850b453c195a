package engine

// What the columnar path (internal/frame) needs from the engine besides what the
// row path uses.

// LocalDirs are the executor's local directories, for an operator's spill files.
func (tc *TaskContext) LocalDirs() []string { return tc.env.Dirs }

// InBuild reports whether a build is being recorded now: a frame compiled inside a
// registered job's builder joins that build, one compiled outside ships its plan
// as a build of its own.
func (g *Graph) InBuild() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.building != nil
}
