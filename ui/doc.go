// Package ui is what a person or a tool sees of a running application: the
// driver's web UI (jobs with a picture of their stage DAG, a stage's tasks with
// summary quantiles, executors with links to their logs, the environment with
// secrets redacted, a timeline of executors and tasks), a JSON API in the shape of
// Spark's monitoring REST API (/api/v1/applications/...), and /metrics in
// Prometheus' text format.
//
// Everything is built from Events: a Recorder turns the scheduler's and the
// executors' callbacks into Events and hands them to its sinks, a Store keeps what
// the pages show (the last spindle.ui.retained* jobs, stages, tasks and dead
// executors, so that a long application does not grow without bound), and the
// event log (package history) writes the same Events, so that `spindle history`
// serves the same pages from a replayed Store after the application ended.
//
// Every link is relative and every page lives at the top of the handler, so the
// pages work unchanged below the ResourceManager's web proxy
// (/proxy/<appId>/) and below the history server's /history/<appId>/.
package ui
