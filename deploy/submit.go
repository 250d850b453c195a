package deploy

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/security/tokens"
	"github.com/spindle-engine/spindle/shuffle"
	"github.com/spindle-engine/spindle/yarn"
)

// Submit creates the application on the ResourceManager, checks the container sizes
// against the cluster's maximum, stages the job binary, files, archives and the Hadoop
// configuration into the staging directory (mode 0700), and submits the AM. A failed
// submission removes what it staged. The returned App owns an RM connection: Close it.
func Submit(ctx context.Context, spec *Spec) (*App, error) {
	if spec.Conf == nil || spec.Hadoop == nil {
		return nil, errors.New("deploy: Spec needs Conf and Hadoop")
	}
	role := RoleAM
	switch spec.Mode {
	case ModeCluster:
	case ModeClient:
		role = RoleClientAM
		if spec.DriverAMAddr == "" {
			return nil, errors.New("deploy: client mode needs the driver's address for its AM")
		}
	default:
		return nil, fmt.Errorf("deploy mode %q: want %s or %s", spec.Mode, ModeCluster, ModeClient)
	}
	if err := checkBinary(spec.Binary); err != nil {
		return nil, err
	}
	user := spec.user()
	fsOpts, err := spec.fsOptions(user)
	if err != nil {
		return nil, err
	}
	rm, err := yarn.NewResourceManager(spec.Hadoop, spec.rmOptions(user)...)
	if err != nil {
		return nil, err
	}
	app, err := submit(ctx, spec, rm, role, user, fsOpts)
	if err != nil {
		rm.Close()
		return nil, err
	}
	return app, nil
}

func checkBinary(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("job binary: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("job binary %s is not an executable file", p)
	}
	return nil
}

func submit(ctx context.Context, spec *Spec, rm *yarn.ResourceManager, role, user string, fsOpts hdfs.Options) (*App, error) {
	id, max, err := rm.NewApplication(ctx)
	if err != nil {
		return nil, err
	}
	// Nothing exists yet but a reserved id: an impossible size leaves no trace.
	if err := CheckResources(spec, max); err != nil {
		var re *ResourceError
		if errors.As(err, &re) {
			re.Configured, _ = spec.Hadoop.Get("yarn.scheduler.maximum-allocation-mb")
		}
		return nil, err
	}
	staging, err := StagingURL(spec.Conf, spec.Hadoop, user, id.String())
	if err != nil {
		return nil, err
	}
	app := &App{ID: id, Staging: staging, Secret: spec.Secret, rm: rm, fsOpts: fsOpts,
		preserve: spec.Conf.Bool("spindle.yarn.preserveStagingFiles")}
	if len(app.Secret) == 0 {
		app.Secret = make([]byte, 32)
		if _, err := rand.Read(app.Secret); err != nil {
			return nil, fmt.Errorf("application secret: %w", err)
		}
	}
	resources, keytab, err := stage(ctx, spec, staging, fsOpts)
	if err != nil {
		return nil, errors.Join(err, app.removeStaging(ctx))
	}
	if app.Tokens, err = obtainTokens(ctx, spec, fsOpts, staging); err != nil {
		return nil, errors.Join(err, app.removeStaging(ctx))
	}
	if spec.Kerberos != nil && spec.Kerberos.Keytab() == "" {
		// Only a keytab (the AM's, or a client-mode driver's) renews them.
		app.AccessEnds = tokens.AccessEnds(app.Tokens)
	}
	var kt *amKeytab
	if keytab != nil {
		kt = &amKeytab{resource: *keytab, principal: spec.Kerberos.Principal()}
	}
	lc, err := launchContext(spec, app, role, resources, kt)
	if err != nil {
		return nil, errors.Join(err, app.removeStaging(ctx))
	}
	s := sizes(spec)
	name := spec.Name
	if name == "" {
		name = spec.Conf.String("spindle.app.name")
	}
	if name == "" {
		// As spark-submit names an application after its main class.
		name = filepath.Base(spec.Binary)
	}
	queue := spec.Queue
	if queue == "" {
		queue = spec.Conf.String("spindle.yarn.queue")
	}
	err = rm.Submit(ctx, &yarn.SubmissionContext{
		App: id, Name: name, Queue: queue, AMResource: s.am, AMContainer: lc,
		MaxAttempts:             int32(spec.Conf.Int("spindle.yarn.maxAppAttempts")),
		AttemptFailuresValidity: spec.Conf.Duration("spindle.yarn.am.attemptFailuresValidityInterval"),
	})
	if err != nil {
		return nil, errors.Join(err, app.removeStaging(ctx))
	}
	spec.Log.Debug().Str("app", id.String()).Str("staging", staging).Str("mode", spec.Mode).Msg("submitted")
	return app, nil
}

// stage uploads the job binary, the local files and archives (Spec's, else
// spindle.yarn.dist.files and .archives) and the Hadoop configuration, and returns
// every container resource by name; and, separately, the AM's keytab (cluster mode
// with --keytab), which no executor gets.
func stage(ctx context.Context, spec *Spec, staging string, fsOpts hdfs.Options) (_ map[string]yarn.LocalResource, keytab *yarn.LocalResource, err error) {
	fss := hdfs.NewFileSystems(fsOpts)
	defer func() { err = errors.Join(err, fss.Close()) }()
	p := &plan{remote: map[string]yarn.LocalResource{}}
	files, archives := spec.Files, spec.Archives
	if len(files) == 0 {
		files = SplitList(spec.Conf.Get("spindle.yarn.dist.files"))
	}
	if len(archives) == 0 {
		archives = SplitList(spec.Conf.Get("spindle.yarn.dist.archives"))
	}
	for _, f := range files {
		if err := p.addUser(ctx, fss, f, yarn.File); err != nil {
			return nil, nil, fmt.Errorf("--files: %w", err)
		}
	}
	for _, a := range archives {
		if err := p.addUser(ctx, fss, a, yarn.Archive); err != nil {
			return nil, nil, fmt.Errorf("--archives: %w", err)
		}
	}
	kt, err := keytabUpload(spec)
	if err != nil {
		return nil, nil, err
	}
	if kt != nil {
		p.uploads = append(p.uploads, *kt)
	}
	p.uploads = append(p.uploads, upload{key: JobResource, stagedName: JobResource, local: spec.Binary, typ: yarn.File})
	if dir := spec.confDir(); dir != "" {
		tmp, err := os.MkdirTemp("", "spindle-conf-")
		if err != nil {
			return nil, nil, fmt.Errorf("conf archive: %w", err)
		}
		defer os.RemoveAll(tmp)
		zipPath, err := confArchive(dir, tmp)
		if err != nil {
			return nil, nil, err
		}
		p.uploads = append(p.uploads, upload{key: ConfResource, stagedName: ConfResource + ".zip", local: zipPath, typ: yarn.Archive})
	}
	fsys, dir, err := fss.Resolve(ctx, staging)
	if err != nil {
		return nil, nil, fmt.Errorf("staging dir: %w", err)
	}
	locals := make(map[string]string, len(p.uploads))
	byStaged := make(map[string]upload, len(p.uploads))
	for _, u := range p.uploads {
		locals[u.stagedName] = u.local
		byStaged[u.stagedName] = u
	}
	staged, err := hdfs.Stage(ctx, fsys, dir, locals)
	if err != nil {
		return nil, nil, err
	}
	out := p.remote
	for _, s := range staged {
		u := byStaged[s.Name]
		r := yarn.LocalResource{
			URL: resourceURL(staging, s.Path), Size: s.Size, Timestamp: s.ModTime.UnixMilli(),
			Type: u.typ, Visibility: yarn.Application,
		}
		if u.key == KeytabResource {
			// Localized into the user's private cache, never a public one.
			r.Visibility = yarn.Private
			keytab = &r
			continue
		}
		out[u.key] = r
	}
	return out, keytab, nil
}

// launchContext is the AM container: its resources (and the keytab, if any), the
// environment of the contract, its command, and credentials carrying the secret
// and the delegation tokens.
func launchContext(spec *Spec, app *App, role string, resources map[string]yarn.LocalResource, keytab *amKeytab) (*yarn.LaunchContext, error) {
	c := spec.Conf.Clone()
	// The AM reads where it runs from its configuration, whatever the submitter set.
	if err := errors.Join(c.Set("spindle.master", "yarn"), c.Set("spindle.submit.deployMode", spec.Mode)); err != nil {
		return nil, err
	}
	if keytab != nil {
		// The AM logs in from its own copy, named as it is in its directory.
		if err := errors.Join(c.Set("spindle.kerberos.keytab", KeytabResource), c.Set("spindle.kerberos.principal", keytab.principal)); err != nil {
			return nil, err
		}
	} else if err := errors.Join(c.Set("spindle.kerberos.keytab", ""), c.Set("spindle.kerberos.principal", "")); err != nil {
		return nil, err
	}
	confJSON, err := json.Marshal(c.Explicit())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvConf, err)
	}
	resJSON, err := json.Marshal(resources)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvResources, err)
	}
	env := map[string]string{
		EnvRole:            role,
		EnvConf:            string(confJSON),
		EnvAppID:           app.ID.String(),
		EnvResources:       string(resJSON),
		EnvStagingDir:      app.Staging,
		"HADOOP_USER_NAME": app.fsOpts.User,
	}
	maps.Copy(env, ProcessEnv)
	if _, ok := resources[ConfResource]; ok {
		env["HADOOP_CONF_DIR"] = ConfResource
	}
	if spec.Mode == ModeClient {
		env[EnvDriverAMAddr] = spec.DriverAMAddr
	}
	if v := os.Getenv(EnvLogLevel); v != "" {
		env[EnvLogLevel] = v
	}
	creds := yarn.NewCredentials()
	creds.Secrets[SecretAlias] = app.Secret
	for _, t := range app.Tokens {
		creds.Tokens[t.Kind+"@"+t.Service] = t
	}
	local := resources
	if keytab != nil {
		local = maps.Clone(resources)
		local[KeytabResource] = keytab.resource
	}
	lc := &yarn.LaunchContext{
		LocalResources: local,
		Env:            EscapeEnv(env),
		Commands:       []string{amCommand(spec.Args)},
		Tokens:         creds.Bytes(),
	}
	if spec.Conf.Bool("spindle.shuffle.service.enabled") {
		// The NodeManager hands the first container of the application on a node,
		// which may be this one, to its shuffle service with the application's
		// secret, as Spark's client does for spark_shuffle.
		lc.ServiceData = map[string][]byte{shuffle.AuxServiceName: app.Secret}
	}
	return lc, nil
}

// SplitList splits a comma-separated --files or --archives value.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
