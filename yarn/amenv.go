package yarn

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spindle-engine/spindle/ipc"
)

// AMEnv is what the NodeManager tells a container through its environment,
// plus the credentials it wrote for it.
type AMEnv struct {
	Container   ContainerID
	Attempt     AttemptID
	NMHost      string
	NMPort      int
	NMHTTPPort  int
	LocalDirs   []string
	LogDirs     []string
	User        string
	TokenFile   string
	Credentials *Credentials
	// AMRMToken is the token for the ApplicationMasterProtocol; nil in
	// containers that are not the AM.
	AMRMToken *ipc.Token
	// WebProxyBase is the RM proxy's path prefix for the AM's web UI.
	WebProxyBase string
}

// AMContext reads the container environment of the running process.
func AMContext() (*AMEnv, error) { return amContextFrom(os.Getenv) }

func amContextFrom(getenv func(string) string) (*AMEnv, error) {
	need := func(k string) (string, error) {
		v := getenv(k)
		if v == "" {
			return "", fmt.Errorf("container environment: %s is not set (not running in a YARN container?)", k)
		}
		return v, nil
	}
	cid, err := need("CONTAINER_ID")
	if err != nil {
		return nil, err
	}
	id, err := ParseContainerID(cid)
	if err != nil {
		return nil, fmt.Errorf("container environment: CONTAINER_ID: %w", err)
	}
	e := &AMEnv{
		Container: id, Attempt: id.Attempt,
		NMHost:       getenv("NM_HOST"),
		User:         getenv("USER"),
		TokenFile:    getenv("HADOOP_TOKEN_FILE_LOCATION"),
		WebProxyBase: getenv("APPLICATION_WEB_PROXY_BASE"),
		LocalDirs:    splitList(getenv("LOCAL_DIRS")),
		LogDirs:      splitList(getenv("LOG_DIRS")),
	}
	for k, dst := range map[string]*int{"NM_PORT": &e.NMPort, "NM_HTTP_PORT": &e.NMHTTPPort} {
		if v := getenv(k); v != "" {
			if *dst, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("container environment: %s=%q: %w", k, v, err)
			}
		}
	}
	if e.TokenFile != "" {
		if e.Credentials, err = ReadCredentials(e.TokenFile); err != nil {
			return nil, fmt.Errorf("container environment: %w", err)
		}
		e.AMRMToken = e.Credentials.TokenOfKind(amrmTokenKind)
	}
	return e, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
