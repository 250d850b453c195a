package dev.spindle.shuffle.yarn;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.server.api.ApplicationInitializationContext;
import org.apache.hadoop.yarn.server.api.ApplicationTerminationContext;
import org.apache.hadoop.yarn.server.api.AuxiliaryService;
import org.apache.hadoop.yarn.server.api.ContainerInitializationContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NodeManager auxiliary service {@code spindle_shuffle}: it starts Spindle's Go
 * shuffle daemon (cmd/spindle-shuffle), restarts it when it dies, passes it each
 * application's start (with the secret from the container's service data) and stop
 * over the daemon's stdin, and returns the daemon's port as its metadata.
 *
 * <p>Metadata: 4 bytes big-endian, the port, as MapReduce's ShuffleHandler sends its
 * own; then a reason in UTF-8, padded with spaces. A port of 0 means the daemon is
 * down, and the reason says why. The NodeManager reads the metadata once, after
 * start, and hands out copies that share this service's bytes, so the bytes are
 * updated in place when the daemon comes up or goes down for good.
 *
 * <p>Enable it in yarn-site.xml: {@code yarn.nodemanager.aux-services=spindle_shuffle},
 * {@code yarn.nodemanager.aux-services.spindle_shuffle.class=}this class, and
 * {@code spindle.shuffle.daemon.path} naming the daemon's binary.
 */
public class SpindleShuffleService extends AuxiliaryService {
  /** The service's name: its key in aux-services, service data and metadata. */
  public static final String NAME = "spindle_shuffle";

  /** Path of the spindle-shuffle binary (required). */
  public static final String DAEMON_PATH = "spindle.shuffle.daemon.path";
  /** State directory when the NodeManager has no recovery path; else under the first local dir. */
  public static final String STATE_DIR = "spindle.shuffle.state.dir";
  /** Host to listen on; empty (the default) means every interface. */
  public static final String LISTEN_HOST = "spindle.shuffle.listen.host";
  /** Port to listen on; 0 (the default) lets the daemon pick one, kept across restarts. */
  public static final String PORT = "spindle.shuffle.port";
  /** host:port of the daemon's Prometheus endpoint; empty for none. */
  public static final String METRICS_LISTEN = "spindle.shuffle.metrics.listen";
  /** How long start waits for the daemon to announce its port. */
  public static final String START_TIMEOUT_MS = "spindle.shuffle.daemon.start-timeout-ms";
  /** Whether a daemon that cannot start fails the NodeManager's start. */
  public static final String STOP_ON_FAILURE = "spindle.shuffle.stopOnFailure";
  /** The daemon's log level: debug, info, warn or error. */
  public static final String LOG_LEVEL = "spindle.shuffle.daemon.log-level";

  static final Logger LOG = LoggerFactory.getLogger(SpindleShuffleService.class);

  private static final int META_SIZE = 4 + 252;

  private final byte[] meta = new byte[META_SIZE];
  private DaemonSupervisor supervisor;
  private boolean stopOnFailure;
  private long startTimeoutMs;

  public SpindleShuffleService() {
    super(NAME);
    setMeta(0, "not started");
  }

  @Override
  protected void serviceInit(Configuration conf) throws Exception {
    stopOnFailure = conf.getBoolean(STOP_ON_FAILURE, false);
    startTimeoutMs = conf.getLong(START_TIMEOUT_MS, 30_000);
    String daemon = conf.getTrimmed(DAEMON_PATH, "");
    String[] localDirs = conf.getTrimmedStrings("yarn.nodemanager.local-dirs");
    File state = stateDir(conf, localDirs);
    List<String> args = new ArrayList<>();
    args.add(daemon);
    args.add("--state-dir");
    args.add(state.getPath());
    args.add("--control");
    args.add("stdin");
    args.add("--log-level");
    args.add(conf.getTrimmed(LOG_LEVEL, "info"));
    String metrics = conf.getTrimmed(METRICS_LISTEN, "");
    if (!metrics.isEmpty()) {
      args.add("--metrics-listen");
      args.add(metrics);
    }
    if (localDirs.length > 0) {
      args.add("--local-dirs");
      args.add(String.join(",", localDirs));
    }
    supervisor = new DaemonSupervisor(args, conf.getTrimmed(LISTEN_HOST, ""), conf.getInt(PORT, 0), this::setMeta);
    LOG.info("{}: daemon {}, state in {}", NAME, daemon, state);
    super.serviceInit(conf);
  }

  /** The NodeManager's recovery path when it has one, else the configured dir, else one under the first local dir. */
  private File stateDir(Configuration conf, String[] localDirs) {
    if (getRecoveryPath() != null) {
      return new File(getRecoveryPath().toUri().getPath());
    }
    String dir = conf.getTrimmed(STATE_DIR, "");
    if (!dir.isEmpty()) {
      return new File(dir);
    }
    String first = localDirs.length > 0 ? localDirs[0] : System.getProperty("java.io.tmpdir");
    if (first.startsWith("file:")) {
      first = java.net.URI.create(first).getPath();
    }
    return new File(first, NAME);
  }

  @Override
  protected void serviceStart() throws Exception {
    String problem = supervisor.start(startTimeoutMs);
    if (problem != null) {
      String msg = NAME + ": the shuffle daemon did not start: " + problem
          + "; containers on this node get port 0 in the service metadata until it does"
          + " (the supervisor keeps trying)";
      LOG.error(msg);
      if (stopOnFailure) {
        supervisor.stop();
        throw new IllegalStateException(msg);
      }
    }
    super.serviceStart();
  }

  @Override
  protected void serviceStop() throws Exception {
    if (supervisor != null) {
      supervisor.stop();
    }
    super.serviceStop();
  }

  @Override
  public void initializeApplication(ApplicationInitializationContext ctx) {
    String app = ctx.getApplicationId().toString();
    if (!DaemonSupervisor.validAppId(app)) {
      LOG.error("{}: application id {} is not one the daemon accepts", NAME, app);
      return;
    }
    ByteBuffer data = ctx.getApplicationDataForService();
    if (data == null || !data.hasRemaining()) {
      LOG.warn("{}: application {} sent no secret in its service data; its executors cannot use the service", NAME, app);
      return;
    }
    byte[] secret = new byte[data.remaining()];
    data.duplicate().get(secret);
    // The NodeManager calls this for every container of the application carrying
    // service data; the daemon treats a repeat as a no-op.
    supervisor.send(DaemonSupervisor.initEvent(app, secret));
    LOG.info("{}: application {} initialized", NAME, app);
  }

  @Override
  public void stopApplication(ApplicationTerminationContext ctx) {
    String app = ctx.getApplicationId().toString();
    if (!DaemonSupervisor.validAppId(app)) {
      return;
    }
    supervisor.send(DaemonSupervisor.stopEvent(app));
    LOG.info("{}: application {} stopped; its shuffle files go", NAME, app);
  }

  @Override
  public void initializeContainer(ContainerInitializationContext ctx) {
    String down = supervisor.downReason();
    if (down != null) {
      LOG.error("{}: container {} starts on a node whose shuffle daemon is down: {}", NAME, ctx.getContainerId(), down);
    }
  }

  @Override
  public ByteBuffer getMetaData() {
    return ByteBuffer.wrap(meta);
  }

  /** Writes the port and reason into the metadata bytes the NodeManager hands out. */
  private void setMeta(int port, String reason) {
    synchronized (meta) {
      meta[0] = (byte) (port >>> 24);
      meta[1] = (byte) (port >>> 16);
      meta[2] = (byte) (port >>> 8);
      meta[3] = (byte) port;
      byte[] r = (reason == null ? "" : reason).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      for (int i = 4; i < META_SIZE; i++) {
        meta[i] = i - 4 < r.length ? r[i - 4] : (byte) ' ';
      }
    }
  }
}
