// Package conf is Spindle's typed configuration: keys with defaults and docs, values
// from --conf flags and properties files (spark-defaults.conf style, spark.* names
// accepted), size and duration parsing, validation whose errors name the key and
// value, and Hadoop's XML configuration from HADOOP_CONF_DIR.
package conf

import "sort"

// Kind is the type of a key's value.
type Kind int

// The kinds of values.
const (
	String Kind = iota
	Int
	Bool
	Float
	Size
	Duration
	Enum
)

// Key is one configuration key.
type Key struct {
	Name    string
	Default string // "" means unset; Doc says what unset means
	Doc     string
	Kind    Kind
	Aliases []string // e.g. the spark.* twin
	Allowed []string // for Enum, upper case
}

// keys is the table of known keys. It is a literal, not init-time registration, so
// its content never depends on package initialization order.
var keys = []Key{
	{Name: "spindle.master", Default: "local[*]", Kind: String, Aliases: []string{"spark.master"}, Doc: "where jobs run: local, local[N], local[*] or yarn"},
	{Name: "spindle.app.name", Kind: String, Aliases: []string{"spark.app.name"}, Doc: "the application's name (--name); unset means the job binary's file name"},
	{Name: "spindle.submit.deployMode", Default: "client", Kind: Enum, Allowed: []string{"CLIENT", "CLUSTER"}, Aliases: []string{"spark.submit.deployMode"}, Doc: "where the driver runs on YARN: client or cluster"},
	{Name: "spindle.executor.instances", Default: "2", Kind: Int, Aliases: []string{"spark.executor.instances"}, Doc: "number of executors on YARN"},
	{Name: "spindle.executor.cores", Default: "1", Kind: Int, Aliases: []string{"spark.executor.cores"}, Doc: "task slots per executor"},
	{Name: "spindle.executor.memory", Default: "1g", Kind: Size, Aliases: []string{"spark.executor.memory"}, Doc: "memory per executor"},
	{Name: "spindle.executor.memoryOverhead", Kind: Size, Aliases: []string{"spark.executor.memoryOverhead"}, Doc: "extra container memory per executor; unset means max(384m, 10% of executor memory), raised below ~1g so that YARN's virtual-memory check (2.1 × the container) fits a Go process, e.g. 512m for 512m"},
	{Name: "spindle.executor.maxNumFailures", Kind: Int, Aliases: []string{"spark.executor.maxNumFailures"}, Doc: "executor failures before the application fails; unset means max(2 × instances, 3)"},
	{Name: "spindle.driver.memory", Default: "1g", Kind: Size, Aliases: []string{"spark.driver.memory"}, Doc: "driver memory; in local mode the memory of the whole job"},
	{Name: "spindle.go.gcPercent", Default: "400", Kind: Int, Doc: "the Go garbage collector's GOGC in the driver and the executors: a collection starts when the heap has grown by this many per cent since the last one; Spindle buffers records outside the heap and spindle.driver.memory / spindle.executor.memory cap the heap as GOMEMLIMIT does, so collecting less often costs a little resident memory and saves CPU (Go's default, 100, collects some 70 times in a 10 M-record sort); at least 1; the GOGC environment variable wins (GOGC=off turns collection off until the memory limit)"},
	{Name: "spindle.driver.host", Kind: String, Aliases: []string{"spark.driver.host"}, Doc: "in client mode, the host executors and the ApplicationMaster dial the driver at; unset means this machine's name"},
	{Name: "spindle.driver.bindAddress", Kind: String, Aliases: []string{"spark.driver.bindAddress"}, Doc: "the address the driver's listeners bind (executors' endpoint, the client-mode AM link); unset means spindle.driver.host, or in cluster mode the AM container's host"},
	{Name: "spindle.network.crypto.enabled", Default: "false", Kind: Bool, Aliases: []string{"spark.network.crypto.enabled"}, Doc: "encrypt Spindle's own connections (driver, executors, AM link, shuffle fetches) with AES-GCM keyed from the application secret"},
	{Name: "spindle.dynamicAllocation.enabled", Default: "false", Kind: Bool, Aliases: []string{"spark.dynamicAllocation.enabled"}, Doc: "scale the executors with the backlog: more while tasks wait, idle ones given back"},
	{Name: "spindle.dynamicAllocation.minExecutors", Kind: Int, Aliases: []string{"spark.dynamicAllocation.minExecutors"}, Doc: "the fewest executors dynamic allocation keeps; unset means 0"},
	{Name: "spindle.dynamicAllocation.maxExecutors", Kind: Int, Aliases: []string{"spark.dynamicAllocation.maxExecutors"}, Doc: "the most executors dynamic allocation asks for; unset means no limit"},
	{Name: "spindle.dynamicAllocation.initialExecutors", Kind: Int, Aliases: []string{"spark.dynamicAllocation.initialExecutors"}, Doc: "executors to start with; unset means the minimum, or spindle.executor.instances when set"},
	{Name: "spindle.dynamicAllocation.schedulerBacklogTimeout", Default: "1s", Kind: Duration, Aliases: []string{"spark.dynamicAllocation.schedulerBacklogTimeout"}, Doc: "how long tasks wait before the first executor is added"},
	{Name: "spindle.dynamicAllocation.sustainedSchedulerBacklogTimeout", Default: "1s", Kind: Duration, Aliases: []string{"spark.dynamicAllocation.sustainedSchedulerBacklogTimeout"}, Doc: "then how often executors are added (1, 2, 4, …) while tasks keep waiting"},
	{Name: "spindle.dynamicAllocation.executorIdleTimeout", Default: "60s", Kind: Duration, Aliases: []string{"spark.dynamicAllocation.executorIdleTimeout"}, Doc: "an executor idle this long is given back"},
	{Name: "spindle.dynamicAllocation.shuffleTracking.timeout", Kind: Duration, Aliases: []string{"spark.dynamicAllocation.shuffleTracking.timeout"}, Doc: "without the shuffle service, how long an idle executor holding map outputs is kept; unset means as long as the application runs"},
	{Name: "spindle.stage.maxConsecutiveAttempts", Default: "4", Kind: Int, Aliases: []string{"spark.stage.maxConsecutiveAttempts"}, Doc: "attempts of a stage that may fail on lost shuffle input before its job fails"},
	{Name: "spindle.driver.cores", Default: "1", Kind: Int, Aliases: []string{"spark.driver.cores"}, Doc: "driver cores in cluster mode"},
	{Name: "spindle.memory.fraction", Default: "0.6", Kind: Float, Aliases: []string{"spark.memory.fraction"}, Doc: "share of (memory − 300 MB) for execution and storage"},
	{Name: "spindle.memory.storageFraction", Default: "0.5", Kind: Float, Aliases: []string{"spark.memory.storageFraction"}, Doc: "share of the unified pool that cached data keeps from eviction"},
	{Name: "spindle.task.maxFailures", Default: "4", Kind: Int, Aliases: []string{"spark.task.maxFailures"}, Doc: "attempts of a task before its job fails"},
	{Name: "spindle.scheduler.minRegisteredResourcesRatio", Default: "0.8", Kind: Float, Aliases: []string{"spark.scheduler.minRegisteredResourcesRatio"}, Doc: "on YARN, the share of executors that must have registered before the first job runs"},
	{Name: "spindle.scheduler.maxRegisteredResourcesWaitingTime", Default: "30s", Kind: Duration, Aliases: []string{"spark.scheduler.maxRegisteredResourcesWaitingTime"}, Doc: "on YARN, the longest the first job waits for spindle.scheduler.minRegisteredResourcesRatio"},
	{Name: "spindle.locality.wait", Default: "3s", Kind: Duration, Aliases: []string{"spark.locality.wait"}, Doc: "how long a task waits for a slot on a preferred host"},
	{Name: "spindle.default.parallelism", Kind: Int, Aliases: []string{"spark.default.parallelism"}, Doc: "partitions of a shuffle's output; unset means as many as its largest input"},
	{Name: "spindle.shuffle.compress", Default: "true", Kind: Bool, Aliases: []string{"spark.shuffle.compress"}, Doc: "compress shuffle and spill blocks"},
	{Name: "spindle.shuffle.sort.bufferSize", Default: "32m", Kind: Size, Doc: "most memory a map task's shuffle writer buffers (records and their index) before it sorts them into a spill file, whatever execution memory would grant (Hadoop's mapreduce.task.io.sort.mb); a larger buffer saves no sorting work, as merging the spills costs what sorting them as one would have, but is all resident; 0 means no bound but execution memory"},
	{Name: "spindle.shuffle.service.enabled", Default: "false", Kind: Bool, Aliases: []string{"spark.shuffle.service.enabled"}, Doc: "executors register their map outputs with the node's external shuffle service (the NodeManager aux service spindle_shuffle) and reducers fetch from it; off, executors serve their own outputs"},
	{Name: "spindle.shuffle.io.maxRetries", Default: "3", Kind: Int, Aliases: []string{"spark.shuffle.io.maxRetries"}, Doc: "retries of a shuffle fetch whose connection failed (a missing or corrupt map output is not retried)"},
	{Name: "spindle.shuffle.io.retryWait", Default: "5s", Kind: Duration, Aliases: []string{"spark.shuffle.io.retryWait"}, Doc: "wait before the first retry of a shuffle fetch; each later retry waits twice as long as the one before"},
	{Name: "spindle.reducer.maxSizeInFlight", Default: "48m", Kind: Size, Aliases: []string{"spark.reducer.maxSizeInFlight"}, Doc: "most shuffle bytes a reduce task has fetched and not yet consumed"},
	{Name: "spindle.files.maxPartitionBytes", Default: "128m", Kind: Size, Aliases: []string{"spark.files.maxPartitionBytes"}, Doc: "largest input split"},
	{Name: "spindle.files.openCostInBytes", Default: "4m", Kind: Size, Aliases: []string{"spark.files.openCostInBytes"}, Doc: "smallest input split worth a task"},
	{Name: "spindle.local.dir", Kind: String, Aliases: []string{"spark.local.dir"}, Doc: "directory for shuffle and spill files; unset means the system temp dir"},
	{Name: "spindle.csv.mode", Default: "FAILFAST", Kind: Enum, Allowed: []string{"FAILFAST", "DROPMALFORMED"}, Doc: "FAILFAST fails on a malformed CSV row; DROPMALFORMED skips and counts it"},
	{Name: "spindle.output.overwrite", Default: "false", Kind: Bool, Doc: "replace an existing output path"},
	{Name: "spindle.parquet.compression", Default: "snappy", Kind: Enum, Allowed: []string{"SNAPPY", "ZSTD", "GZIP", "NONE"}, Aliases: []string{"spark.sql.parquet.compression.codec"}, Doc: "codec of the Parquet files frames write"},
	{Name: "spindle.sql.autoBroadcastJoinThreshold", Default: "10m", Kind: String, Aliases: []string{"spark.sql.autoBroadcastJoinThreshold"}, Doc: "a join side whose input is estimated at most this size is broadcast: built into a hash table by every task of the other side, which is not shuffled; a size such as 10m, or -1 (or 0) to disable"},
	{Name: "spindle.sort.samplesPerPartition", Default: "20", Kind: Int, Doc: "keys sampled per output partition to range-partition a sort"},
	{Name: "spindle.log.level", Default: "warn", Kind: Enum, Allowed: []string{"DEBUG", "INFO", "WARN", "ERROR"}, Doc: "log level of driver and executors"},
	{Name: "spindle.yarn.queue", Default: "default", Kind: String, Aliases: []string{"spark.yarn.queue"}, Doc: "YARN queue"},
	{Name: "spindle.yarn.am.memory", Default: "512m", Kind: Size, Aliases: []string{"spark.yarn.am.memory"}, Doc: "ApplicationMaster memory in client mode"},
	{Name: "spindle.yarn.am.cores", Default: "1", Kind: Int, Aliases: []string{"spark.yarn.am.cores"}, Doc: "ApplicationMaster cores in client mode"},
	{Name: "spindle.yarn.stagingDir", Kind: String, Aliases: []string{"spark.yarn.stagingDir"}, Doc: "HDFS directory for staged files; unset means the user's home"},
	{Name: "spindle.yarn.preserveStagingFiles", Default: "false", Kind: Bool, Aliases: []string{"spark.yarn.preserve.staging.files"}, Doc: "keep staged files after the application ends"},
	{Name: "spindle.yarn.submit.waitAppCompletion", Default: "true", Kind: Bool, Aliases: []string{"spark.yarn.submit.waitAppCompletion"}, Doc: "spindle submit waits for the application to end"},
	{Name: "spindle.yarn.rm.connect.maxRetries", Kind: Int, Doc: "retries of a failed connect to the ResourceManager (by spindle submit and a client-mode driver), after waits of 0.1 s doubling up to 5 s; unset means the cluster's ipc.client.connect.max.retries (Hadoop's default: 10, about 26 s), else 3"},
	{Name: "spindle.yarn.maxAppAttempts", Kind: Int, Aliases: []string{"spark.yarn.maxAppAttempts"}, Doc: "ApplicationMaster attempts; unset means YARN's maximum. Only failures of the AM itself use another attempt: a job that fails ends the application FAILED"},
	{Name: "spindle.testing.killInJobCommit", Kind: Int, Doc: "fault-injection tests only: the first ApplicationMaster attempt's driver kills itself (SIGKILL) after its job commit moved this many files"},
	{Name: "spindle.yarn.am.attemptFailuresValidityInterval", Kind: Duration, Aliases: []string{"spark.yarn.am.attemptFailuresValidityInterval"}, Doc: "count only the AM failures within this interval against spindle.yarn.maxAppAttempts; unset means all"},
	{Name: "spindle.yarn.scheduler.heartbeat.interval", Default: "3s", Kind: Duration, Aliases: []string{"spark.yarn.scheduler.heartbeat.interval-ms"}, Doc: "AM heartbeat when no containers are pending"},
	{Name: "spindle.yarn.scheduler.initial-allocation.interval", Default: "200ms", Kind: Duration, Aliases: []string{"spark.yarn.scheduler.initial-allocation.interval"}, Doc: "first AM heartbeat interval while containers are pending, doubling up to the heartbeat interval"},
	{Name: "spindle.yarn.dist.files", Kind: String, Aliases: []string{"spark.yarn.dist.files"}, Doc: "comma-separated files for executors' working directories"},
	{Name: "spindle.yarn.dist.archives", Kind: String, Aliases: []string{"spark.yarn.dist.archives"}, Doc: "comma-separated archives extracted in executors' working directories"},
	{Name: "spindle.kerberos.principal", Kind: String, Aliases: []string{"spark.kerberos.principal"}, Doc: "Kerberos principal to log in as"},
	{Name: "spindle.kerberos.keytab", Kind: String, Aliases: []string{"spark.kerberos.keytab"}, Doc: "keytab of the principal"},
	{Name: "spindle.kerberos.access.hadoopFileSystems", Kind: String, Aliases: []string{"spark.kerberos.access.hadoopFileSystems", "spark.yarn.access.hadoopFileSystems"}, Doc: "comma-separated hdfs:// filesystems, besides the default and the staging one, the job needs delegation tokens for"},
	{Name: "spindle.kerberos.renewal.ratio", Default: "0.75", Kind: Float, Aliases: []string{"spark.security.credentials.renewalRatio"}, Doc: "with a keytab, new delegation tokens are obtained at this share of their renew interval"},
	{Name: "spindle.kerberos.renewal.retryWait", Default: "1h", Kind: Duration, Aliases: []string{"spark.security.credentials.retryWait"}, Doc: "how long to wait before trying again when obtaining new delegation tokens failed"},
	{Name: "spindle.ui.enabled", Default: "true", Kind: Bool, Aliases: []string{"spark.ui.enabled"}, Doc: "serve the driver's web UI, its JSON API and /metrics (on YARN through the ResourceManager's proxy)"},
	{Name: "spindle.ui.port", Default: "4040", Kind: Int, Aliases: []string{"spark.ui.port"}, Doc: "the driver's web UI port in local and client mode, or the next free one up to 16 above; 0 means any free port. In cluster mode the UI takes a free port of the AM's container"},
	{Name: "spindle.ui.retainedJobs", Default: "1000", Kind: Int, Aliases: []string{"spark.ui.retainedJobs"}, Doc: "finished jobs the UI and its API remember"},
	{Name: "spindle.ui.retainedStages", Default: "1000", Kind: Int, Aliases: []string{"spark.ui.retainedStages"}, Doc: "finished stage attempts the UI and its API remember"},
	{Name: "spindle.ui.retainedTasks", Default: "100000", Kind: Int, Aliases: []string{"spark.ui.retainedTasks"}, Doc: "tasks of one stage attempt the UI and its API remember (their totals count them all)"},
	{Name: "spindle.ui.retainedDeadExecutors", Default: "100", Kind: Int, Aliases: []string{"spark.ui.retainedDeadExecutors"}, Doc: "executors that went away the UI remembers"},
	{Name: "spindle.redaction.regex", Default: "(?i)secret|password|token|access[.]key", Kind: String, Aliases: []string{"spark.redaction.regex"}, Doc: "configuration keys (or values) matching it are shown redacted on the environment page and in event logs"},
	{Name: "spindle.eventLog.enabled", Default: "false", Kind: Bool, Aliases: []string{"spark.eventLog.enabled"}, Doc: "write the application's job, stage, task and executor events to spindle.eventLog.dir, for spindle history"},
	{Name: "spindle.eventLog.dir", Default: "/tmp/spindle-events", Kind: String, Aliases: []string{"spark.eventLog.dir"}, Doc: "the event logs' directory: a local path, file:// or hdfs:// URL (on YARN, hdfs://, which the history server can read)"},
	{Name: "spindle.eventLog.rolling.maxFileSize", Default: "128m", Kind: Size, Aliases: []string{"spark.eventLog.rolling.maxFileSize"}, Doc: "an event log part is closed and the next begun at this size"},
	{Name: "spindle.history.fs.logDirectory", Kind: String, Aliases: []string{"spark.history.fs.logDirectory"}, Doc: "the event log directory spindle history serves; unset means spindle.eventLog.dir"},
	{Name: "spindle.history.ui.port", Default: "18080", Kind: Int, Aliases: []string{"spark.history.ui.port"}, Doc: "spindle history's port"},
	{Name: "spindle.history.retainedApplications", Default: "50", Kind: Int, Aliases: []string{"spark.history.retainedApplications"}, Doc: "applications spindle history keeps replayed in memory"},
	{Name: "spindle.yarn.historyServer.address", Kind: String, Aliases: []string{"spark.yarn.historyServer.address"}, Doc: "host:port (or http:// URL) of spindle history: an ended application's tracking URL on the ResourceManager points at its page there"},
	{Name: "spindle.driver.appUIAddress", Kind: String, Aliases: []string{"spark.driver.appUIAddress"}, Doc: "set by Spindle in client mode: the driver's UI, which the ApplicationMaster registers as the application's tracking URL"},
	{Name: "spindle.excludeOnFailure.enabled", Default: "false", Kind: Bool, Aliases: []string{"spark.excludeOnFailure.enabled", "spark.blacklist.enabled"}, Doc: "exclude executors and nodes that keep failing tasks: for the stage, and (once the stage succeeds) for the application, when the excluded nodes are also sent to the ResourceManager so no new executors start there"},
	{Name: "spindle.excludeOnFailure.timeout", Default: "1h", Kind: Duration, Aliases: []string{"spark.excludeOnFailure.timeout", "spark.blacklist.timeout"}, Doc: "how long an executor or node stays excluded for the application"},
	{Name: "spindle.excludeOnFailure.task.maxTaskAttemptsPerExecutor", Default: "1", Kind: Int, Aliases: []string{"spark.excludeOnFailure.task.maxTaskAttemptsPerExecutor"}, Doc: "failed attempts of one task on an executor before that executor gets no more attempts of it"},
	{Name: "spindle.excludeOnFailure.task.maxTaskAttemptsPerNode", Default: "2", Kind: Int, Aliases: []string{"spark.excludeOnFailure.task.maxTaskAttemptsPerNode"}, Doc: "failed attempts of one task on a node before that node gets no more attempts of it"},
	{Name: "spindle.excludeOnFailure.stage.maxFailedTasksPerExecutor", Default: "2", Kind: Int, Aliases: []string{"spark.excludeOnFailure.stage.maxFailedTasksPerExecutor"}, Doc: "different tasks of a stage an executor fails before it is excluded for the stage"},
	{Name: "spindle.excludeOnFailure.stage.maxFailedExecutorsPerNode", Default: "2", Kind: Int, Aliases: []string{"spark.excludeOnFailure.stage.maxFailedExecutorsPerNode"}, Doc: "executors of a node excluded for a stage before the node is"},
	{Name: "spindle.excludeOnFailure.application.maxFailedTasksPerExecutor", Default: "2", Kind: Int, Aliases: []string{"spark.excludeOnFailure.application.maxFailedTasksPerExecutor"}, Doc: "task failures, in stages that succeeded, before an executor is excluded for the application"},
	{Name: "spindle.excludeOnFailure.application.maxFailedExecutorsPerNode", Default: "2", Kind: Int, Aliases: []string{"spark.excludeOnFailure.application.maxFailedExecutorsPerNode"}, Doc: "executors of a node excluded for the application before the node is (and is sent to the ResourceManager)"},
	{Name: "spindle.excludeOnFailure.unschedulableTaskSetTimeout", Default: "120s", Kind: Duration, Aliases: []string{"spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout"}, Doc: "how long a stage with a task that every live executor is excluded for waits for new executors before it is aborted"},
	{Name: "spindle.speculation", Default: "false", Kind: Bool, Aliases: []string{"spark.speculation"}, Doc: "speculative execution: a task much slower than its stage's others gets a copy on another executor; the first to finish wins and the other is killed"},
	{Name: "spindle.speculation.interval", Default: "100ms", Kind: Duration, Aliases: []string{"spark.speculation.interval"}, Doc: "how often running tasks are checked for slow ones"},
	{Name: "spindle.speculation.quantile", Default: "0.75", Kind: Float, Aliases: []string{"spark.speculation.quantile"}, Doc: "share of a stage's tasks that must have finished before its slow tasks are copied"},
	{Name: "spindle.speculation.multiplier", Default: "1.5", Kind: Float, Aliases: []string{"spark.speculation.multiplier"}, Doc: "how many times the stage's median task time a task must have run to be copied"},
	{Name: "spindle.speculation.minTaskRuntime", Default: "100ms", Kind: Duration, Aliases: []string{"spark.speculation.minTaskRuntime"}, Doc: "the least a task runs before it may be copied"},
}

var (
	byName = func() map[string]*Key {
		m := map[string]*Key{}
		for i := range keys {
			m[keys[i].Name] = &keys[i]
			for _, a := range keys[i].Aliases {
				m[a] = &keys[i]
			}
		}
		return m
	}()
)

// Keys returns every known key, sorted by name.
func Keys() []Key {
	out := append([]Key(nil), keys...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// lookup finds a key by name or alias.
func lookup(name string) (*Key, bool) {
	k, ok := byName[name]
	return k, ok
}

// nearest finds the known name closest to name by edit distance.
func nearest(name string) string {
	best, bestD := "", 1<<30
	for n := range byName {
		if d := editDistance(name, n); d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	if bestD > max(3, len(name)/3) {
		return ""
	}
	if k, ok := byName[best]; ok {
		return k.Name
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
