package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The JSON API has the shape of Spark's monitoring REST API (its
// org.apache.spark.status.api.v1 classes, as Spark 3.5 writes them), so that tools
// that read Spark's read Spindle's: the same paths, names, states and date format.
// Fields Spindle has no counterpart for are zero; a task's records read are its
// input's, whether they came from a source or a shuffle.

// APIVersion is the Spark release whose API shape this is.
const APIVersion = "3.5.0"

// sparkTime marshals as Spark's API dates do: "2024-05-01T12:00:00.000GMT".
type sparkTime time.Time

func (t sparkTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000") + `GMT"`), nil
}

// UnmarshalJSON reads what MarshalJSON writes, so that Go clients (and tests) can
// decode the API's answers into its types.
func (t *sparkTime) UnmarshalJSON(b []byte) error {
	v, err := time.Parse(`"2006-01-02T15:04:05.000GMT"`, string(b))
	if err != nil {
		return fmt.Errorf("API time %s: %w", b, err)
	}
	*t = sparkTime(v)
	return nil
}

// notEnded is Spark's end time of an application that has not ended.
var notEnded = time.UnixMilli(-1)

// AppInfo is Spark's ApplicationInfo.
type AppInfo struct {
	ID                  string        `json:"id"`
	Name                string        `json:"name"`
	CoresGranted        int           `json:"coresGranted,omitempty"`
	MaxCores            int           `json:"maxCores,omitempty"`
	CoresPerExecutor    int           `json:"coresPerExecutor,omitempty"`
	MemoryPerExecutorMB int           `json:"memoryPerExecutorMB,omitempty"`
	Attempts            []AttemptInfo `json:"attempts"`
}

// AttemptInfo is Spark's ApplicationAttemptInfo.
type AttemptInfo struct {
	AttemptID        string    `json:"attemptId,omitempty"`
	StartTime        sparkTime `json:"startTime"`
	EndTime          sparkTime `json:"endTime"`
	LastUpdated      sparkTime `json:"lastUpdated"`
	Duration         int64     `json:"duration"`
	SparkUser        string    `json:"sparkUser"`
	Completed        bool      `json:"completed"`
	AppSparkVersion  string    `json:"appSparkVersion"`
	StartTimeEpoch   int64     `json:"startTimeEpoch"`
	EndTimeEpoch     int64     `json:"endTimeEpoch"`
	LastUpdatedEpoch int64     `json:"lastUpdatedEpoch"`
}

// Info is the application as Spark's API lists it.
func (a App) Info() AppInfo {
	end, dur := notEnded, a.Updated.Sub(a.Started)
	if !a.Ended.IsZero() {
		end, dur = a.Ended, a.Ended.Sub(a.Started)
	}
	at := AttemptInfo{AttemptID: a.Attempt, StartTime: sparkTime(a.Started), EndTime: sparkTime(end), LastUpdated: sparkTime(a.Updated),
		Duration: dur.Milliseconds(), SparkUser: a.User, Completed: !a.Ended.IsZero(), AppSparkVersion: APIVersion,
		StartTimeEpoch: a.Started.UnixMilli(), EndTimeEpoch: end.UnixMilli(), LastUpdatedEpoch: a.Updated.UnixMilli()}
	return AppInfo{ID: a.ID, Name: a.Name, Attempts: []AttemptInfo{at}}
}

type apiJob struct {
	JobID               int            `json:"jobId"`
	Name                string         `json:"name"`
	SubmissionTime      *sparkTime     `json:"submissionTime,omitempty"`
	CompletionTime      *sparkTime     `json:"completionTime,omitempty"`
	StageIDs            []int          `json:"stageIds"`
	Status              string         `json:"status"`
	NumTasks            int            `json:"numTasks"`
	NumActiveTasks      int            `json:"numActiveTasks"`
	NumCompletedTasks   int            `json:"numCompletedTasks"`
	NumSkippedTasks     int            `json:"numSkippedTasks"`
	NumFailedTasks      int            `json:"numFailedTasks"`
	NumKilledTasks      int            `json:"numKilledTasks"`
	NumCompletedIndices int            `json:"numCompletedIndices"`
	NumActiveStages     int            `json:"numActiveStages"`
	NumCompletedStages  int            `json:"numCompletedStages"`
	NumSkippedStages    int            `json:"numSkippedStages"`
	NumFailedStages     int            `json:"numFailedStages"`
	KilledTasksSummary  map[string]int `json:"killedTasksSummary"`
}

type apiStage struct {
	Status                string                  `json:"status"`
	StageID               int                     `json:"stageId"`
	AttemptID             int                     `json:"attemptId"`
	NumTasks              int                     `json:"numTasks"`
	NumActiveTasks        int                     `json:"numActiveTasks"`
	NumCompleteTasks      int                     `json:"numCompleteTasks"`
	NumFailedTasks        int                     `json:"numFailedTasks"`
	NumKilledTasks        int                     `json:"numKilledTasks"`
	NumCompletedIndices   int                     `json:"numCompletedIndices"`
	SubmissionTime        *sparkTime              `json:"submissionTime,omitempty"`
	FirstTaskLaunchedTime *sparkTime              `json:"firstTaskLaunchedTime,omitempty"`
	CompletionTime        *sparkTime              `json:"completionTime,omitempty"`
	FailureReason         string                  `json:"failureReason,omitempty"`
	ExecutorRunTime       int64                   `json:"executorRunTime"`
	InputRecords          int64                   `json:"inputRecords"`
	OutputRecords         int64                   `json:"outputRecords"`
	ShuffleReadBytes      int64                   `json:"shuffleReadBytes"`
	ShuffleWriteBytes     int64                   `json:"shuffleWriteBytes"`
	MemoryBytesSpilled    int64                   `json:"memoryBytesSpilled"`
	DiskBytesSpilled      int64                   `json:"diskBytesSpilled"`
	Name                  string                  `json:"name"`
	Details               string                  `json:"details"`
	SchedulingPool        string                  `json:"schedulingPool"`
	RDDIDs                []int                   `json:"rddIds"`
	AccumulatorUpdates    []any                   `json:"accumulatorUpdates"`
	KilledTasksSummary    map[string]int          `json:"killedTasksSummary"`
	Tasks                 map[string]apiTask      `json:"tasks,omitempty"`
	ExecutorSummary       map[string]apiExecStage `json:"executorSummary,omitempty"`
	ResourceProfileID     int                     `json:"resourceProfileId"`
}

type apiExecStage struct {
	TaskTime           int64 `json:"taskTime"`
	FailedTasks        int   `json:"failedTasks"`
	SucceededTasks     int   `json:"succeededTasks"`
	KilledTasks        int   `json:"killedTasks"`
	InputRecords       int64 `json:"inputRecords"`
	OutputRecords      int64 `json:"outputRecords"`
	ShuffleRead        int64 `json:"shuffleRead"`
	ShuffleWrite       int64 `json:"shuffleWrite"`
	MemoryBytesSpilled int64 `json:"memoryBytesSpilled"`
	DiskBytesSpilled   int64 `json:"diskBytesSpilled"`
}

type apiTask struct {
	TaskID             int64          `json:"taskId"`
	Index              int            `json:"index"`
	Attempt            int            `json:"attempt"`
	PartitionID        int            `json:"partitionId"`
	LaunchTime         sparkTime      `json:"launchTime"`
	Duration           int64          `json:"duration"`
	ExecutorID         string         `json:"executorId"`
	Host               string         `json:"host"`
	Status             string         `json:"status"`
	TaskLocality       string         `json:"taskLocality"`
	Speculative        bool           `json:"speculative"`
	AccumulatorUpdates []any          `json:"accumulatorUpdates"`
	ErrorMessage       string         `json:"errorMessage,omitempty"`
	TaskMetrics        *apiTaskMetric `json:"taskMetrics,omitempty"`
}

type apiTaskMetric struct {
	ExecutorRunTime    int64 `json:"executorRunTime"`
	MemoryBytesSpilled int64 `json:"memoryBytesSpilled"`
	DiskBytesSpilled   int64 `json:"diskBytesSpilled"`
	InputMetrics       struct {
		BytesRead   int64 `json:"bytesRead"`
		RecordsRead int64 `json:"recordsRead"`
	} `json:"inputMetrics"`
	OutputMetrics struct {
		BytesWritten   int64 `json:"bytesWritten"`
		RecordsWritten int64 `json:"recordsWritten"`
	} `json:"outputMetrics"`
	ShuffleReadMetrics struct {
		RemoteBytesRead int64 `json:"remoteBytesRead"`
		RecordsRead     int64 `json:"recordsRead"`
	} `json:"shuffleReadMetrics"`
	ShuffleWriteMetrics struct {
		BytesWritten int64 `json:"bytesWritten"`
	} `json:"shuffleWriteMetrics"`
}

type apiExecutor struct {
	ID                string            `json:"id"`
	HostPort          string            `json:"hostPort"`
	IsActive          bool              `json:"isActive"`
	RDDBlocks         int               `json:"rddBlocks"`
	MemoryUsed        int64             `json:"memoryUsed"`
	DiskUsed          int64             `json:"diskUsed"`
	TotalCores        int               `json:"totalCores"`
	MaxTasks          int               `json:"maxTasks"`
	ActiveTasks       int               `json:"activeTasks"`
	FailedTasks       int               `json:"failedTasks"`
	CompletedTasks    int               `json:"completedTasks"`
	TotalTasks        int               `json:"totalTasks"`
	TotalDuration     int64             `json:"totalDuration"`
	TotalGCTime       int64             `json:"totalGCTime"`
	TotalInputBytes   int64             `json:"totalInputBytes"`
	TotalShuffleRead  int64             `json:"totalShuffleRead"`
	TotalShuffleWrite int64             `json:"totalShuffleWrite"`
	IsBlacklisted     bool              `json:"isBlacklisted"`
	IsExcluded        bool              `json:"isExcluded"`
	MaxMemory         int64             `json:"maxMemory"`
	AddTime           sparkTime         `json:"addTime"`
	RemoveTime        *sparkTime        `json:"removeTime,omitempty"`
	RemoveReason      string            `json:"removeReason,omitempty"`
	ExecutorLogs      map[string]string `json:"executorLogs"`
	Attributes        map[string]string `json:"attributes"`
	Resources         map[string]any    `json:"resources"`
	ResourceProfileID int               `json:"resourceProfileId"`
	ExcludedInStages  []int             `json:"excludedInStages"`
}

type apiEnvironment struct {
	Runtime           map[string]string `json:"runtime"`
	SparkProperties   [][2]string       `json:"sparkProperties"`
	HadoopProperties  [][2]string       `json:"hadoopProperties"`
	SystemProperties  [][2]string       `json:"systemProperties"`
	MetricsProperties [][2]string       `json:"metricsProperties"`
	ClasspathEntries  [][2]string       `json:"classpathEntries"`
	ResourceProfiles  []any             `json:"resourceProfiles"`
}

func timePtr(t time.Time) *sparkTime {
	if t.IsZero() {
		return nil
	}
	st := sparkTime(t)
	return &st
}

func toAPIJob(j JobView) apiJob {
	out := apiJob{JobID: j.ID, Name: j.Name, SubmissionTime: timePtr(j.Submitted), CompletionTime: timePtr(j.Completed),
		Status: j.Status, NumTasks: j.NumTasks, NumActiveTasks: j.Active, NumCompletedTasks: j.Done, NumSkippedTasks: j.SkippedTasks,
		NumFailedTasks: j.Failed, NumKilledTasks: j.Killed, NumCompletedIndices: j.CompletedIndices, NumActiveStages: j.ActiveStages,
		NumCompletedStages: j.CompletedStages, NumSkippedStages: j.SkippedStages, NumFailedStages: j.FailedStages,
		KilledTasksSummary: map[string]int{}, StageIDs: []int{}}
	for _, s := range j.Stages {
		out.StageIDs = append(out.StageIDs, s.ID)
	}
	return out
}

func toAPIStage(s StageView, detail bool) apiStage {
	out := apiStage{Status: s.Status, StageID: s.ID, AttemptID: s.Attempt, NumTasks: s.NumTasks, NumActiveTasks: s.Active,
		NumCompleteTasks: s.Done, NumFailedTasks: s.Failed, NumKilledTasks: s.Killed, NumCompletedIndices: s.CompletedIndices,
		SubmissionTime: timePtr(s.Submitted), FirstTaskLaunchedTime: timePtr(s.FirstLaunch), CompletionTime: timePtr(s.Completed),
		FailureReason: s.Error, ExecutorRunTime: s.Totals.DurationMs, InputRecords: s.Totals.RecordsRead, OutputRecords: s.Totals.RecordsWritten,
		ShuffleReadBytes: s.Totals.ShuffleReadBytes, ShuffleWriteBytes: s.Totals.ShuffleWriteBytes, DiskBytesSpilled: s.Totals.SpillBytes,
		Name: s.Name, Details: s.Name, SchedulingPool: "default", RDDIDs: []int{}, AccumulatorUpdates: []any{}, KilledTasksSummary: map[string]int{}}
	if detail {
		out.Tasks = map[string]apiTask{}
		for _, t := range s.Tasks {
			out.Tasks[strconv.FormatInt(t.ID, 10)] = toAPITask(t)
		}
		out.ExecutorSummary = map[string]apiExecStage{}
		for _, e := range s.Executors {
			out.ExecutorSummary[e.Executor] = apiExecStage{TaskTime: e.Totals.DurationMs, FailedTasks: e.Failed, SucceededTasks: e.Done, KilledTasks: e.Killed,
				InputRecords: e.Totals.RecordsRead, OutputRecords: e.Totals.RecordsWritten, ShuffleRead: e.Totals.ShuffleReadBytes,
				ShuffleWrite: e.Totals.ShuffleWriteBytes, DiskBytesSpilled: e.Totals.SpillBytes}
		}
	}
	return out
}

func toAPITask(t Task) apiTask {
	out := apiTask{TaskID: t.ID, Index: t.Partition, Attempt: t.Attempt, PartitionID: t.Partition, LaunchTime: sparkTime(t.Launched),
		ExecutorID: t.Executor, Host: t.Host, Status: t.Status, TaskLocality: t.Locality, AccumulatorUpdates: []any{}, ErrorMessage: t.Error}
	if !t.Finished.IsZero() {
		out.Duration = t.Finished.Sub(t.Launched).Milliseconds()
		m := &apiTaskMetric{ExecutorRunTime: t.Metrics.DurationMs, DiskBytesSpilled: t.Metrics.SpillBytes}
		m.InputMetrics.RecordsRead = t.Metrics.RecordsRead
		m.OutputMetrics.RecordsWritten = t.Metrics.RecordsWritten
		m.ShuffleReadMetrics.RemoteBytesRead = t.Metrics.ShuffleReadBytes
		m.ShuffleWriteMetrics.BytesWritten = t.Metrics.ShuffleWriteBytes
		out.TaskMetrics = m
	}
	return out
}

func toAPIExecutor(x Executor, user string) apiExecutor {
	out := apiExecutor{ID: x.ID, HostPort: x.Host, IsActive: x.Active, MemoryUsed: x.HeartbeatMetric.HeapBytes, TotalCores: x.Cores, MaxTasks: x.Cores,
		ActiveTasks: x.ActiveTasks, FailedTasks: x.Failed, CompletedTasks: x.Done, TotalTasks: x.ActiveTasks + x.Failed + x.Done + x.Killed,
		TotalDuration: x.Totals.DurationMs, TotalGCTime: x.HeartbeatMetric.GCPauseNanos / 1e6, TotalShuffleRead: x.Totals.ShuffleReadBytes,
		TotalShuffleWrite: x.Totals.ShuffleWriteBytes, MaxMemory: x.MemoryBytes, AddTime: sparkTime(x.Added), RemoveTime: timePtr(x.Removed),
		RemoveReason: x.Reason, ExecutorLogs: map[string]string{}, Attributes: map[string]string{}, Resources: map[string]any{}, ExcludedInStages: []int{}}
	if x.Node != "" {
		out.Attributes["NODE_ID"] = x.Node
	}
	if x.Container != "" {
		out.Attributes["CONTAINER_ID"] = x.Container
	}
	if x.NodeHTTP != "" && x.Container != "" {
		for _, f := range []string{"stdout", "stderr"} {
			out.ExecutorLogs[f] = strings.Replace(nmLogURL(x, user), "/stderr/", "/"+f+"/", 1)
		}
	}
	return out
}

// apiHandler serves /api/v1/ of one application.
type apiHandler struct{ h *Handler }

func (a apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, status := a.route(r)
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // a client that went away is nothing to report
}

type apiError struct {
	Message string `json:"message"`
}

func notFoundJSON(format string, args ...any) (any, int) {
	return apiError{Message: fmt.Sprintf(format, args...)}, http.StatusNotFound
}

func (a apiHandler) route(r *http.Request) (any, int) {
	s := a.h.cfg.Store
	app := s.App()
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "version":
		return map[string]string{"spark": APIVersion}, http.StatusOK
	case parts[0] != "applications":
		return notFoundJSON("unknown path %s", r.URL.Path)
	case len(parts) == 1:
		return []AppInfo{app.Info()}, http.StatusOK
	case parts[1] != app.ID:
		return notFoundJSON("unknown app: %s", parts[1])
	}
	rest := parts[2:]
	// Spark's paths may name the attempt: /applications/<app>/<attempt>/jobs.
	if len(rest) > 0 && rest[0] != "" && !slices.Contains([]string{"jobs", "stages", "executors", "allexecutors", "environment"}, rest[0]) {
		if rest[0] != app.Attempt {
			return notFoundJSON("unknown attempt %s of %s", rest[0], app.ID)
		}
		rest = rest[1:]
	}
	if len(rest) == 0 || rest[0] == "" {
		return app.Info(), http.StatusOK
	}
	q := r.URL.Query()
	switch rest[0] {
	case "jobs":
		return a.jobs(rest[1:], q.Get("status"))
	case "stages":
		return a.stages(rest[1:], q.Get("status"), q.Get("quantiles"))
	case "executors", "allexecutors":
		out := []apiExecutor{}
		for _, x := range s.Executors() {
			if x.Active || rest[0] == "allexecutors" {
				out = append(out, toAPIExecutor(x, app.User))
			}
		}
		return out, http.StatusOK
	case "environment":
		env := apiEnvironment{Runtime: app.Runtime, HadoopProperties: [][2]string{}, SystemProperties: [][2]string{},
			MetricsProperties: [][2]string{}, ClasspathEntries: [][2]string{}, ResourceProfiles: []any{}, SparkProperties: [][2]string{}}
		for _, kv := range sortedPairs(app.Conf) {
			env.SparkProperties = append(env.SparkProperties, [2]string{kv.Key, kv.Value})
		}
		return env, http.StatusOK
	}
	return notFoundJSON("unknown path %s", r.URL.Path)
}

func (a apiHandler) jobs(rest []string, status string) (any, int) {
	s := a.h.cfg.Store
	if len(rest) == 1 {
		id, err := strconv.Atoi(rest[0])
		j, ok := s.Job(id)
		if err != nil || !ok {
			return notFoundJSON("unknown job: %s", rest[0])
		}
		return toAPIJob(j), http.StatusOK
	}
	out := []apiJob{}
	for _, j := range s.Jobs() {
		if status == "" || strings.EqualFold(status, j.Status) {
			out = append(out, toAPIJob(j))
		}
	}
	return out, http.StatusOK
}

func (a apiHandler) stages(rest []string, status, quantiles string) (any, int) {
	s := a.h.cfg.Store
	switch len(rest) {
	case 0:
		out := []apiStage{}
		for _, st := range s.Stages() {
			if status == "" || strings.EqualFold(status, st.Status) {
				out = append(out, toAPIStage(st, false))
			}
		}
		return out, http.StatusOK
	case 1:
		id, err := strconv.Atoi(rest[0])
		attempts := s.StageAttempts(id, true)
		if err != nil || len(attempts) == 0 {
			return notFoundJSON("unknown stage: %s", rest[0])
		}
		out := []apiStage{}
		for _, st := range attempts {
			out = append(out, toAPIStage(st, true))
		}
		return out, http.StatusOK
	}
	id, err1 := strconv.Atoi(rest[0])
	attempt, err2 := strconv.Atoi(rest[1])
	st, ok := s.Stage(id, attempt, true)
	if err1 != nil || err2 != nil || !ok {
		return notFoundJSON("unknown attempt %s of stage %s", rest[1], rest[0])
	}
	if len(rest) == 2 {
		return toAPIStage(st, true), http.StatusOK
	}
	switch rest[2] {
	case "taskList":
		out := []apiTask{}
		for _, t := range st.Tasks {
			out = append(out, toAPITask(t))
		}
		return out, http.StatusOK
	case "taskSummary":
		return taskSummary(st.Tasks, quantiles)
	}
	return notFoundJSON("unknown path stages/%s", strings.Join(rest, "/"))
}

// taskSummary is Spark's TaskMetricDistributions over the successful tasks, at
// the quantiles asked (Spark's default 0.05, 0.25, 0.5, 0.75, 0.95).
func taskSummary(tasks []Task, param string) (any, int) {
	qs := []float64{0.05, 0.25, 0.5, 0.75, 0.95}
	if param != "" {
		qs = qs[:0]
		for _, f := range strings.Split(param, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v < 0 || v > 1 {
				return apiError{Message: fmt.Sprintf("quantiles %q: each must be a number from 0 to 1", param)}, http.StatusBadRequest
			}
			qs = append(qs, v)
		}
	}
	var ok []Task
	for _, t := range tasks {
		if t.Status == TaskSuccess {
			ok = append(ok, t)
		}
	}
	if len(ok) == 0 {
		return notFoundJSON("no task of the stage has succeeded yet")
	}
	dist := func(get func(TaskMetrics) int64) []float64 {
		vals := make([]float64, len(ok))
		for i, t := range ok {
			vals[i] = float64(get(t.Metrics))
		}
		slices.Sort(vals)
		out := make([]float64, len(qs))
		for i, q := range qs {
			out[i] = vals[min(int(q*float64(len(vals)-1)+0.5), len(vals)-1)]
		}
		return out
	}
	return map[string]any{
		"quantiles":           qs,
		"executorRunTime":     dist(func(m TaskMetrics) int64 { return m.DurationMs }),
		"diskBytesSpilled":    dist(func(m TaskMetrics) int64 { return m.SpillBytes }),
		"inputMetrics":        map[string]any{"recordsRead": dist(func(m TaskMetrics) int64 { return m.RecordsRead })},
		"outputMetrics":       map[string]any{"recordsWritten": dist(func(m TaskMetrics) int64 { return m.RecordsWritten })},
		"shuffleReadMetrics":  map[string]any{"readBytes": dist(func(m TaskMetrics) int64 { return m.ShuffleReadBytes })},
		"shuffleWriteMetrics": map[string]any{"writeBytes": dist(func(m TaskMetrics) int64 { return m.ShuffleWriteBytes })},
	}, http.StatusOK
}
