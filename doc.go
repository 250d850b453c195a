// Package spindle is the user API of Spindle, a Go engine that runs data jobs on one
// machine or on Hadoop YARN, the way Apache Spark does.
//
// A job is a typed, lazy dataset plan: sources ([Parallelize], [ReadText], [ReadCSV]),
// transforms ([Map], [FlatMap], [Filter], [ReduceByKey], [Join], [SortBy], ...) and
// actions ([Collect], [Count], [Take], [SaveAsText], [SaveAsCSV]) that run it. An action
// cuts the plan into stages at shuffle boundaries and hands them to the driver's
// scheduler, which runs one task per partition on the executors' slots.
//
// Programs call [Main], which picks the process's role and builds a [Session].
// Jobs that must run on a cluster are registered by name with [Register], so that every
// executor can rebuild the same plan from the name and an encoded argument.
package spindle
