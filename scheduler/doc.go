// Package scheduler runs jobs as Spark does: the DAG scheduler cuts a job into
// stages at shuffle boundaries and submits a stage once the shuffles it reads are
// complete; the task scheduler places each stage's tasks on executor slots by
// locality, retries failed tasks, and re-queues those of lost executors, and knows
// its backlog: the tasks waiting and running, and which hosts the waiting ones
// prefer (the hints the ApplicationMaster asks for containers with, and what
// dynamic allocation, package scaling, scales by); a Backend runs the tasks, in-process (LocalBackend) or on remote
// executors (package executor's Backend).
//
// DAGScheduler and TaskScheduler are pure state machines in the style of
// etcd-io/raft: they take events (and the time) and return actions, do no I/O and
// start no goroutines, so they are tested without threads. Driver is the I/O shell:
// one goroutine owns both, feeds them the backend's events, and carries out their
// actions.
package scheduler
