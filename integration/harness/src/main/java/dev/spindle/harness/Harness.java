package dev.spindle.harness;

import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.security.Credentials;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.security.token.Token;
import org.apache.hadoop.security.token.TokenIdentifier;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.NodeReport;
import org.apache.hadoop.yarn.api.records.NodeState;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.NodeManager;

/**
 * Spindle's real Hadoop test cluster and the Java-side checks the Go tests compare
 * against. Subcommands: up, report, write-tokens, read-tokens.
 */
public final class Harness {
  private static final int NODE_MANAGERS = 2;

  private Harness() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      usage();
    }
    switch (args[0]) {
      case "up" -> {
        try {
          up(args);
        } catch (Throwable t) {
          // Daemons started before the failure would keep the JVM alive; the script is
          // waiting for READY, so end now and let it report.
          t.printStackTrace();
          System.err.println("harness: start failed: " + t);
          Runtime.getRuntime().halt(1);
        }
      }
      case "report" -> report(args);
      case "write-tokens" -> writeTokens(args);
      case "read-tokens" -> readTokens(args);
      case "yarn-logs" -> System.exit(yarnLogs(args));
      default -> usage();
    }
  }

  private static void usage() {
    System.err.println("usage: Harness up --conf-dir DIR [--work-dir DIR] [--shuffle-daemon PATH] [--secure --kdc-dir DIR]"
        + " [--faults [--enforce-memory true|false]]"
        + " | report --conf-dir DIR APP_ID"
        + " | write-tokens --out FILE --format writable|protobuf"
        + " | read-tokens --in FILE"
        + " | yarn-logs --conf-dir DIR LOGS_CLI_ARGS...");
    System.exit(2);
  }

  private static String flag(String[] args, String name, String def) {
    for (int i = 1; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    if (def == null) {
      System.err.println("missing " + name);
      usage();
    }
    return def;
  }

  private static void up(String[] args) throws Exception {
    File confDir = new File(flag(args, "--conf-dir", null)).getAbsoluteFile();
    File work = new File(flag(args, "--work-dir", new File(confDir, "work").getPath())).getAbsoluteFile();
    confDir.mkdirs();
    work.mkdirs();
    System.setProperty("test.build.data", new File(work, "yarn").getPath());
    System.setProperty("hadoop.tmp.dir", new File(work, "tmp").getPath());

    Configuration conf = new Configuration();
    conf.setInt("dfs.replication", 2);
    // Tests write multi-block files with 1 MiB blocks.
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 1024 * 1024);
    Secure secure = Secure.fromArgs(args); // null for the open cluster
    Faults faults = Faults.fromArgs(args); // null but for the fault-injection cluster
    if (secure != null && faults != null) {
      throw new IllegalArgumentException("--secure and --faults are two clusters: pick one");
    }
    int dataNodes = faults == null ? 2 : Faults.DATA_NODES;
    if (secure != null) {
      secure.configure(conf);
    }
    // The faults cluster keeps HDFS's defaults: a stopped DataNode stays a write
    // target until declared dead (10.5 min), and Spindle's writer must route
    // around it (hdfs/writer.go).
    MiniDFSCluster dfs = secure == null
        ? new MiniDFSCluster.Builder(conf, new File(work, "dfs")).numDataNodes(dataNodes).build()
        : secure.as(Secure.HDFS, () -> new MiniDFSCluster.Builder(conf, new File(work, "dfs")).numDataNodes(dataNodes).build());
    dfs.waitActive();
    String user = UserGroupInformation.getCurrentUser().getShortUserName();
    FileSystem fs = dfs.getFileSystem();
    fs.mkdirs(new Path("/user/" + user));
    fs.mkdirs(new Path("/tmp"));
    fs.setPermission(new Path("/tmp"), new FsPermission((short) 01777));
    if (secure != null) {
      secure.prepare(fs);
    }

    YarnConfiguration yconf = new YarnConfiguration(dfs.getConfiguration(0));
    // The shaded jar has no capacity-scheduler.xml: one queue, inline.
    yconf.set("yarn.scheduler.capacity.root.queues", "default");
    yconf.set("yarn.scheduler.capacity.root.default.capacity", "100");
    yconf.set("yarn.scheduler.capacity.root.default.maximum-capacity", "100");
    yconf.set("yarn.scheduler.capacity.root.default.user-limit-factor", "1");
    yconf.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
    yconf.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
    yconf.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
    yconf.set("yarn.scheduler.capacity.node-locality-delay", "-1");
    yconf.set("yarn.scheduler.capacity.maximum-am-resource-percent", "1.0");
    // Both NMs are on localhost: the port makes them two nodes.
    yconf.set("yarn.scheduler.include-port-in-node-name", "true");
    yconf.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "100.0");
    yconf.set("yarn.nodemanager.disk-health-checker.min-free-space-per-disk-mb", "0");
    yconf.set("yarn.nodemanager.delete.debug-delay-sec", "600");
    yconf.set("yarn.scheduler.minimum-allocation-mb", "64");
    yconf.set("yarn.minicluster.yarn.nodemanager.resource.memory-mb", "4096");
    yconf.set("yarn.nodemanager.resource.cpu-vcores", "8");
    yconf.set("yarn.resourcemanager.am.max-attempts", "2");
    // Log aggregation, as on a real cluster: `yarn logs` and `spindle logs` read a
    // finished application's logs from HDFS. MiniYARNCluster gives each NodeManager a
    // remote directory of its own; the TFile controller's key overrides that, so that
    // both nodes and every client agree on /tmp/logs.
    yconf.set("yarn.log-aggregation-enable", "true");
    yconf.set("yarn.nodemanager.remote-app-log-dir", "/tmp/logs");
    yconf.set("yarn.log-aggregation.file-controller.TFile.remote-app-log-dir", "/tmp/logs");
    // Stop containers quickly when the cluster goes down.
    yconf.set("yarn.nodemanager.sleep-delay-before-sigkill.ms", "100");
    yconf.set("yarn.nodemanager.process-kill-wait.ms", "500");
    // The external shuffle service on every NodeManager: the aux service (its jar is on
    // this JVM's classpath) runs the Go daemon; each daemon's port comes back in
    // startContainers' metadata, so the two on this host never collide.
    String shuffleDaemon = flag(args, "--shuffle-daemon", "");
    if (!shuffleDaemon.isEmpty()) {
      yconf.set("yarn.nodemanager.aux-services", "spindle_shuffle");
      yconf.set("yarn.nodemanager.aux-services.spindle_shuffle.class", "dev.spindle.shuffle.yarn.SpindleShuffleService");
      yconf.set("spindle.shuffle.daemon.path", shuffleDaemon);
      yconf.set("spindle.shuffle.listen.host", "localhost");
      yconf.set("spindle.shuffle.metrics.listen", "127.0.0.1:0");
    }
    if (faults != null) {
      faults.configureYarn(yconf, work);
    }
    MiniYARNCluster yarn = new MiniYARNCluster("spindle", faults == null ? 1 : Faults.RESOURCE_MANAGERS, NODE_MANAGERS, 1, 1);
    if (secure == null) {
      yarn.init(yconf);
      yarn.start();
    } else {
      secure.configureYarn(yconf);
      secure.as(Secure.YARN, () -> {
        yarn.init(yconf);
        yarn.start();
        return null;
      });
    }

    // SIGTERM stops the cluster on an ordinary thread, in order (apps, YARN, DFS), before
    // the JVM's shutdown hooks (Hadoop's own among them) run and race with it.
    Runnable stop = () -> {
      long began = System.currentTimeMillis();
      if (faults != null) {
        faults.close();
      }
      try {
        killRunningApps(yarn.getConfig());
      } catch (Exception e) {
        System.err.println("harness: kill apps: " + e);
      }
      System.err.println("harness: apps killed after " + (System.currentTimeMillis() - began) + " ms");
      yarn.stop();
      System.err.println("harness: yarn stopped after " + (System.currentTimeMillis() - began) + " ms");
      try {
        FileSystem.closeAll(); // before the NameNode goes, or closing retries against it
      } catch (Exception e) {
        System.err.println("harness: close filesystems: " + e);
      }
      dfs.shutdown();
      System.err.println("harness: stopped in " + (System.currentTimeMillis() - began) + " ms");
    };
    CountDownLatch term = new CountDownLatch(1);
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), sig -> term.countDown());
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> term.countDown());

    publishProxyAddress(yarn);
    waitForNodes(yarn.getConfig(), NODE_MANAGERS, 60_000);
    Configuration yc = yarn.getConfig();
    writeXml(dfs.getConfiguration(0), new File(confDir, "core-site.xml"));
    writeXml(dfs.getConfiguration(0), new File(confDir, "hdfs-site.xml"));
    writeXml(yc, new File(confDir, "yarn-site.xml"));
    if (faults != null) {
      faults.serve(yarn, dfs);
    }
    writeClusterJson(yarn, dfs, faults, new File(confDir, "cluster.json"));
    System.out.println("MINICLUSTER READY " + confDir);
    System.out.flush();
    term.await();
    stop.run();
    // Everything is stopped; the JVM's remaining hooks have nothing left to do.
    Runtime.getRuntime().halt(0);
  }

  /**
   * The RM caches its web proxy's address (RMContextImpl.proxyHostAndPort) from the
   * configuration it started with, where MiniYARNCluster's web app port is still 0, so
   * every tracking URL would read http://localhost:0/proxy/APP/, which no browser opens.
   * Once the web app listens, the cache gets its real address. Hadoop versions without
   * the cache compute the address afresh and need nothing.
   */
  private static void publishProxyAddress(MiniYARNCluster yarn) throws Exception {
    Configuration c = yarn.getConfig();
    String[] ids = c.getTrimmedStrings(YarnConfiguration.RM_HA_IDS);
    for (int i = 0; i < yarn.getNumOfResourceManager(); i++) {
      String key = YarnConfiguration.RM_WEBAPP_ADDRESS;
      if (c.getBoolean(YarnConfiguration.RM_HA_ENABLED, false) && i < ids.length) {
        key = key + "." + ids[i];
      }
      String addr = c.get(key);
      if (addr == null || addr.endsWith(":0")) {
        throw new IllegalStateException("RM web app address " + key + "=" + addr + " after start");
      }
      Object ctx = yarn.getResourceManager(i).getRMContext();
      java.lang.reflect.Field f;
      try {
        f = ctx.getClass().getDeclaredField("proxyHostAndPort");
      } catch (NoSuchFieldException e) {
        continue;
      }
      f.setAccessible(true);
      f.set(ctx, addr);
    }
  }

  /** Runs Hadoop's own `yarn logs` (LogsCLI) on the cluster; the arguments after --conf-dir DIR are its. */
  private static int yarnLogs(String[] args) throws Exception {
    String dir = flag(args, "--conf-dir", null);
    List<String> rest = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--conf-dir")) {
        i++;
        continue;
      }
      rest.add(args[i]);
    }
    YarnConfiguration conf = new YarnConfiguration(loadConf(dir));
    // As LogsCLI.main does: its web service client (for running applications) is a
    // process-wide one.
    org.apache.hadoop.yarn.webapp.util.WebServiceClient.initialize(conf);
    try {
      return org.apache.hadoop.util.ToolRunner.run(conf, new org.apache.hadoop.yarn.client.cli.LogsCLI(), rest.toArray(new String[0]));
    } finally {
      org.apache.hadoop.yarn.webapp.util.WebServiceClient.destroy();
    }
  }

  private static void writeXml(Configuration c, File f) throws Exception {
    File tmp = new File(f.getPath() + ".tmp");
    try (OutputStream o = new FileOutputStream(tmp)) {
      c.writeXml(o);
    }
    Files.move(tmp.toPath(), f.toPath(), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  static String q(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (ch < 0x20) {
            b.append(String.format("\\u%04x", (int) ch));
          } else {
            b.append(ch);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  private static String list(String csv) {
    List<String> out = new ArrayList<>();
    for (String s : csv.split(",")) {
      if (!s.isBlank()) {
        out.add(q(s.trim()));
      }
    }
    return "[" + String.join(",", out) + "]";
  }

  private static void writeClusterJson(MiniYARNCluster yarn, MiniDFSCluster dfs, Faults faults, File f) throws Exception {
    Configuration c = yarn.getConfig();
    StringBuilder b = new StringBuilder("{\n");
    // With HA (the faults cluster) the addresses are per RM id: these name the first
    // RM, which starts active, and "resourceManagers" lists them all.
    java.util.function.Function<String, String> rm = k -> faults == null ? c.get(k) : Faults.rmAddress(c, k);
    b.append("  \"rm\": ").append(q(rm.apply("yarn.resourcemanager.address"))).append(",\n");
    b.append("  \"scheduler\": ").append(q(rm.apply("yarn.resourcemanager.scheduler.address"))).append(",\n");
    b.append("  \"rmWebapp\": ").append(q(rm.apply("yarn.resourcemanager.webapp.address"))).append(",\n");
    if (faults != null) {
      b.append(faults.json(c, dfs));
    }
    b.append("  \"defaultFS\": ").append(q(dfs.getConfiguration(0).get("fs.defaultFS"))).append(",\n");
    b.append("  \"nn\": ").append(q(dfs.getNameNode().getNameNodeAddress().getHostString() + ":" + dfs.getNameNodePort())).append(",\n");
    b.append("  \"nodes\": [\n");
    for (int i = 0; i < NODE_MANAGERS; i++) {
      NodeManager nm = yarn.getNodeManager(i);
      Configuration nc = nm.getConfig();
      b.append("    {\"nodeId\": ").append(q(nm.getNMContext().getNodeId().toString()))
          .append(", \"httpAddress\": ").append(q(nm.getNMContext().getNodeId().getHost() + ":" + nm.getNMContext().getHttpPort()))
          .append(", \"logDirs\": ").append(list(nc.get("yarn.nodemanager.log-dirs")))
          .append(", \"localDirs\": ").append(list(nc.get("yarn.nodemanager.local-dirs")))
          .append("}").append(i + 1 < NODE_MANAGERS ? ",\n" : "\n");
    }
    b.append("  ]\n}\n");
    File tmp = new File(f.getPath() + ".tmp");
    Files.deleteIfExists(tmp.toPath());
    if (faults != null) {
      // It holds the control endpoint's token: only this user may read it.
      Files.createFile(tmp.toPath(), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    }
    Files.writeString(tmp.toPath(), b.toString(), StandardCharsets.UTF_8);
    Files.move(tmp.toPath(), f.toPath(), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static void waitForNodes(Configuration c, int n, long millis) throws Exception {
    YarnClient yc = YarnClient.createYarnClient();
    yc.init(c);
    yc.start();
    try {
      long deadline = System.currentTimeMillis() + millis;
      while (yc.getNodeReports(NodeState.RUNNING).size() < n) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("NodeManagers did not register within " + millis + " ms");
        }
        Thread.sleep(100);
      }
    } finally {
      yc.stop();
    }
  }

  private static void killRunningApps(Configuration c) throws Exception {
    YarnClient yc = YarnClient.createYarnClient();
    yc.init(c);
    yc.start();
    try {
      for (ApplicationReport r : yc.getApplications(EnumSet.of(YarnApplicationState.NEW,
          YarnApplicationState.NEW_SAVING, YarnApplicationState.SUBMITTED,
          YarnApplicationState.ACCEPTED, YarnApplicationState.RUNNING))) {
        yc.killApplication(r.getApplicationId());
      }
    } finally {
      yc.stop();
    }
  }

  private static Configuration loadConf(String dir) {
    Configuration c = new YarnConfiguration();
    for (String f : new String[] {"core-site.xml", "hdfs-site.xml", "yarn-site.xml"}) {
      c.addResource(new Path("file://" + new File(dir, f).getAbsolutePath()));
    }
    return c;
  }

  /** Prints Hadoop's own YarnClient view of an application as one line of JSON. */
  private static void report(String[] args) throws Exception {
    String dir = flag(args, "--conf-dir", null);
    String app = args[args.length - 1];
    YarnClient yc = YarnClient.createYarnClient();
    yc.init(loadConf(dir));
    yc.start();
    try {
      ApplicationReport r = yc.getApplicationReport(ApplicationId.fromString(app));
      System.out.println("{\"state\": " + q(r.getYarnApplicationState().name())
          + ", \"finalStatus\": " + q(r.getFinalApplicationStatus().name())
          + ", \"diagnostics\": " + q(r.getDiagnostics() == null ? "" : r.getDiagnostics())
          + ", \"trackingUrl\": " + q(r.getTrackingUrl() == null ? "" : r.getTrackingUrl())
          + ", \"applicationType\": " + q(r.getApplicationType() == null ? "" : r.getApplicationType())
          + "}");
    } catch (Exception e) {
      // One line: the class and the first line of the message (remote ones carry a stack).
      String msg = e.getMessage() == null ? "" : e.getMessage().split("\n")[0];
      System.err.println(e.getClass().getName() + ": " + msg);
      System.exit(1);
    } finally {
      yc.stop();
    }
  }

  /** Writes a credentials file with fixed tokens and a secret, in the given format. */
  private static void writeTokens(String[] args) throws Exception {
    String out = flag(args, "--out", null);
    String format = flag(args, "--format", "writable");
    Credentials c = new Credentials();
    c.addToken(new Text("hdfs"), new Token<TokenIdentifier>("hdfs-identifier".getBytes(StandardCharsets.UTF_8),
        "hdfs-password".getBytes(StandardCharsets.UTF_8), new Text("HDFS_DELEGATION_TOKEN"), new Text("127.0.0.1:8020")));
    c.addToken(new Text("amrm"), new Token<TokenIdentifier>(new byte[] {10, 6, 8, 1, 16, 2, 24, 3},
        new byte[] {1, 2, 3, 4}, new Text("YARN_AM_RM_TOKEN"), new Text("rm:8030")));
    c.addSecretKey(new Text("spindle.secret"), "s3cr3t".getBytes(StandardCharsets.UTF_8));
    c.writeTokenStorageFile(new Path("file://" + new File(out).getAbsolutePath()), new Configuration(false),
        format.equals("protobuf") ? Credentials.SerializedFormat.PROTOBUF : Credentials.SerializedFormat.WRITABLE);
  }

  /** Prints what Hadoop's Credentials reads from a file, sorted, one line per entry. */
  private static void readTokens(String[] args) throws Exception {
    String in = flag(args, "--in", null);
    Credentials c = Credentials.readTokenStorageFile(new File(in), new Configuration(false));
    List<String> out = new ArrayList<>();
    Base64.Encoder b64 = Base64.getEncoder();
    for (Text alias : c.getTokenMap().keySet()) {
      Token<?> t = c.getToken(alias);
      out.add("token " + alias + " " + t.getKind() + " " + t.getService() + " "
          + b64.encodeToString(t.getIdentifier()) + " " + b64.encodeToString(t.getPassword()));
    }
    for (Text alias : c.getAllSecretKeys()) {
      out.add("secret " + alias + " " + b64.encodeToString(c.getSecretKey(alias)));
    }
    Collections.sort(out);
    try (PrintWriter p = new PrintWriter(System.out)) {
      for (String s : out) {
        p.println(s);
      }
    }
  }
}
