// Package deploy stages a Spindle application into HDFS and submits its
// ApplicationMaster to YARN, as spark-submit's YARN client does: the CLI uses it in
// cluster mode and a client-mode driver uses it to submit its thin AM.
//
// The AM's container gets the staged job binary as "job", the --files and
// --archives, and the Hadoop configuration as the archive "__spindle_conf__"; its
// environment follows the contract of issue #5 (SPINDLE_ROLE, SPINDLE_CONF,
// SPINDLE_APP_ID, SPINDLE_RESOURCES, ...). The application secret travels only in the
// container's credentials. On a Kerberized cluster Submit authenticates with the
// user's login, puts the application's delegation tokens in those credentials too,
// and in cluster mode stages the user's keytab, if any, for the AM alone.
package deploy

import (
	"os"
	"os/user"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/security/kerberos"
)

// Names shared with the processes that run in YARN containers.
const (
	// EnvRole selects the job binary's part in a container.
	EnvRole = "SPINDLE_ROLE"
	// EnvConf carries the explicitly set configuration as a JSON object.
	EnvConf = "SPINDLE_CONF"
	// EnvAppID is the YARN application id.
	EnvAppID = "SPINDLE_APP_ID"
	// EnvDriverAMAddr is where a client-mode thin AM dials its driver.
	EnvDriverAMAddr = "SPINDLE_DRIVER_AM_ADDR"
	// EnvResources is a JSON object of container name → yarn.LocalResource: what the
	// AM gives its executors (the job binary, files, archives, Hadoop configuration).
	EnvResources = "SPINDLE_RESOURCES"
	// EnvStagingDir is the staging directory's URL, so the AM can remove it at the end.
	EnvStagingDir = "SPINDLE_STAGING_DIR"
	// EnvLogLevel is passed on to the AM when the submitter has it set.
	EnvLogLevel = "SPINDLE_LOG_LEVEL"

	// JobResource is the job binary's name in every container's working directory.
	JobResource = "job"
	// ConfResource is the directory the Hadoop configuration archive unpacks to.
	// HADOOP_CONF_DIR names it relative to the working directory, so the same value
	// is right in the AM's container and in every executor's.
	ConfResource = "__spindle_conf__"
	// SecretAlias names the application secret in containers' credentials.
	SecretAlias = "spindle.secret"

	// RoleAM is the AM of cluster mode, which runs the driver.
	RoleAM = "am"
	// RoleClientAM is the thin AM of client mode.
	RoleClientAM = "am-client"
	// RoleExecutor is an executor, launched by the AM.
	RoleExecutor = "executor"
	// EnvDriverAddr is where an executor dials its driver.
	EnvDriverAddr = "SPINDLE_DRIVER_ADDR"
	// EnvExecutorID is an executor's id, unique within its application.
	EnvExecutorID = "SPINDLE_EXECUTOR_ID"
)

// Deploy modes.
const (
	ModeCluster = "cluster"
	ModeClient  = "client"
)

// Spec is an application to submit.
type Spec struct {
	Binary string   // local path of the job binary
	Args   []string // the job's arguments, on the AM's command line
	// Name is the application's name; "" means spindle.app.name, else the job
	// binary's file name.
	Name   string
	Queue  string
	Conf   *conf.Conf   // the job's configuration; its explicit keys go to SPINDLE_CONF
	Hadoop *conf.Hadoop // the cluster's configuration
	// HadoopConfDir is the directory Hadoop was loaded from, shipped to the AM; ""
	// means HADOOP_CONF_DIR, else YARN_CONF_DIR.
	HadoopConfDir   string
	Files, Archives []string // local paths, or hdfs:// URLs used where they are
	Mode            string   // ModeCluster or ModeClient
	DriverAMAddr    string   // client mode: the driver's endpoint for the thin AM
	// Secret is the per-application secret; empty means Submit makes one (App.Secret).
	Secret []byte
	// User is the Hadoop user (SIMPLE auth); "" means the Kerberos login's short
	// name, else HADOOP_USER_NAME, else the OS user.
	User string
	// Kerberos is the submitter's login on a Kerberized cluster (nil on an open
	// one): Submit authenticates with it, obtains the delegation tokens the AM and
	// executors use, and in cluster mode ships its keytab, if any, to the AM.
	Kerberos *kerberos.User
	Log      zerolog.Logger
}

func (s *Spec) user() string {
	if s.User != "" {
		return s.User
	}
	if s.Kerberos != nil {
		return s.Kerberos.ShortName()
	}
	return HadoopUser()
}

// HadoopUser is the Hadoop user of SIMPLE authentication: HADOOP_USER_NAME, else
// the OS user.
func HadoopUser() string {
	if v := os.Getenv("HADOOP_USER_NAME"); v != "" {
		return v
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "nobody"
}

func (s *Spec) confDir() string {
	if s.HadoopConfDir != "" {
		return s.HadoopConfDir
	}
	if d := os.Getenv("HADOOP_CONF_DIR"); d != "" {
		return d
	}
	return os.Getenv("YARN_CONF_DIR")
}
