// Package engine runs the plans the root package's typed operators build. It knows
// no element types: operators hand it nodes whose compute functions return boxed,
// typed sequences, shuffle writers that receive encoded records, and result functions
// that encode what an action needs.
//
//	operators (package spindle) ──► Graph: Nodes, ShuffleDeps, Builds and their facts
//	                                  │
//	Driver.RunJob ──► compile: stages cut at shuffle boundaries ──► scheduler.JobSpec
//	                                  │ stage payloads (build ref, node, action) when shipping
//	                                  ▼
//	scheduler ──► Runner.RunTask: the Driver's own stages in-process, or an Executor
//	              that rebuilds the registered job from the payload, then runTask:
//	              map tasks write a shuffle, result tasks run the action's function
//
// Executors cannot receive the driver's closures, so a plan that runs on them must
// come from a registered job: the Driver records each Build (the job's name, its
// encoded argument and the facts its builder read from outside, such as input
// splits), and an Executor reruns the same builder in the same binary with the facts
// replayed, getting the same nodes with the same ids. A fingerprint of the plan and a
// hash of the binary guard against builders that do not build the same plan twice.
package engine
