package ui

import (
	"time"
)

// Kind names what an Event records.
type Kind string

// The kinds of events. An application's log is one AppStart, then the others in the
// order they happened, then one AppEnd unless the driver died first.
const (
	KindAppStart        Kind = "AppStart"
	KindAppEnd          Kind = "AppEnd"
	KindJobStart        Kind = "JobStart"
	KindJobEnd          Kind = "JobEnd"
	KindStageSubmitted  Kind = "StageSubmitted"
	KindStageCompleted  Kind = "StageCompleted"
	KindTaskStart       Kind = "TaskStart"
	KindTaskEnd         Kind = "TaskEnd"
	KindExecutorAdded   Kind = "ExecutorAdded"
	KindExecutorRemoved Kind = "ExecutorRemoved"
	KindExecutorMetrics Kind = "ExecutorMetrics"
	// KindEventsDropped records that the event log's queue overflowed and events
	// were lost: the replayed application is then incomplete, and says so.
	KindEventsDropped Kind = "EventsDropped"
)

// Event is one thing that happened to an application: what the live UI applies to
// its store and what the event log writes, one JSON object per line. Exactly one of
// the pointers is set, as Kind says.
type Event struct {
	Kind Kind      `json:"kind"`
	Time time.Time `json:"time"`

	App      *AppEvent      `json:"app,omitempty"`
	Job      *JobEvent      `json:"job,omitempty"`
	Stage    *StageEvent    `json:"stage,omitempty"`
	Task     *TaskEvent     `json:"task,omitempty"`
	Executor *ExecutorEvent `json:"executor,omitempty"`
	// Dropped counts events lost before this one (KindEventsDropped).
	Dropped int64 `json:"dropped,omitempty"`
}

// AppEvent describes the application: at AppStart who and what it is, at AppEnd how
// it ended.
type AppEvent struct {
	ID      string `json:"id"`
	Attempt string `json:"attempt,omitempty"`
	Name    string `json:"name,omitempty"`
	User    string `json:"user,omitempty"`
	Master  string `json:"master,omitempty"`
	Mode    string `json:"mode,omitempty"` // local, client or cluster
	// Conf is the configuration with secrets redacted (Redact), by key.
	Conf map[string]string `json:"conf,omitempty"`
	// Runtime describes the driver's process: Go version, GOMAXPROCS, ...
	Runtime map[string]string `json:"runtime,omitempty"`
	// Status is SUCCEEDED, FAILED or KILLED at AppEnd; Error the failure.
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// StageInfo is one stage of a job as the plan compiler made it.
type StageInfo struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	NumTasks int    `json:"numTasks"`
	Parents  []int  `json:"parents,omitempty"`
	// Shuffle is the shuffle the stage writes; -1 for the result stage.
	Shuffle int `json:"shuffle"`
}

// JobEvent is a job's start (with its stages) or end (with its error).
type JobEvent struct {
	ID     int         `json:"id"`
	Name   string      `json:"name"`
	Stages []StageInfo `json:"stages,omitempty"` // JobStart
	Error  string      `json:"error,omitempty"`  // JobEnd
}

// StageEvent is a stage attempt's submission or completion.
type StageEvent struct {
	ID       int    `json:"id"`
	Attempt  int    `json:"attempt"`
	Job      int    `json:"job"`
	Name     string `json:"name,omitempty"`
	NumTasks int    `json:"numTasks,omitempty"` // tasks in this attempt (StageSubmitted)
	Error    string `json:"error,omitempty"`    // StageCompleted
}

// TaskMetrics are what a task reports with its result.
type TaskMetrics struct {
	DurationMs        int64 `json:"durationMs"`
	RecordsRead       int64 `json:"recordsRead,omitempty"`
	RecordsWritten    int64 `json:"recordsWritten,omitempty"`
	ShuffleReadBytes  int64 `json:"shuffleReadBytes,omitempty"`
	ShuffleWriteBytes int64 `json:"shuffleWriteBytes,omitempty"`
	SpillBytes        int64 `json:"spillBytes,omitempty"`
	DroppedMalformed  int64 `json:"droppedMalformed,omitempty"`
}

// TaskEvent is a task attempt's launch or end.
type TaskEvent struct {
	ID           int64        `json:"id"`
	Stage        int          `json:"stage"`
	StageAttempt int          `json:"stageAttempt"`
	Partition    int          `json:"partition"`
	Attempt      int          `json:"attempt"`
	Executor     string       `json:"executor"`
	Host         string       `json:"host,omitempty"`
	Locality     string       `json:"locality,omitempty"`
	Metrics      *TaskMetrics `json:"metrics,omitempty"` // TaskEnd, on success
	Error        string       `json:"error,omitempty"`   // TaskEnd, on failure
	Killed       bool         `json:"killed,omitempty"`
}

// ExecutorMetrics are what an executor's heartbeat carries: its process's memory
// and garbage collector, and counters of the tasks it ran since it started.
type ExecutorMetrics struct {
	HeapBytes         int64 `json:"heapBytes"`
	RSSBytes          int64 `json:"rssBytes"`
	GCCount           int64 `json:"gcCount"`
	GCPauseNanos      int64 `json:"gcPauseNanos"`
	RunningTasks      int64 `json:"runningTasks"`
	CompletedTasks    int64 `json:"completedTasks"`
	FailedTasks       int64 `json:"failedTasks"`
	ShuffleReadBytes  int64 `json:"shuffleReadBytes"`
	ShuffleWriteBytes int64 `json:"shuffleWriteBytes"`
	SpillBytes        int64 `json:"spillBytes"`
	RecordsRead       int64 `json:"recordsRead"`
	TaskTimeNanos     int64 `json:"taskTimeNanos"`
}

// ExecutorEvent is an executor's registration, removal or heartbeat.
type ExecutorEvent struct {
	ID          string `json:"id"`
	Host        string `json:"host,omitempty"`
	Cores       int    `json:"cores,omitempty"`
	MemoryBytes int64  `json:"memoryBytes,omitempty"` // its memory limit
	Container   string `json:"container,omitempty"`
	// Node is its NodeManager's id (host:port), NodeHTTP the NodeManager's web
	// address; both arrive with the first heartbeat.
	Node     string           `json:"node,omitempty"`
	NodeHTTP string           `json:"nodeHttp,omitempty"`
	Reason   string           `json:"reason,omitempty"` // ExecutorRemoved
	Metrics  *ExecutorMetrics `json:"metrics,omitempty"`
}
