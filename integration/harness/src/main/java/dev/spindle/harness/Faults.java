package dev.spindle.harness;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.yarn.conf.HAUtil;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * The fault-injection mode of the harness (--faults): a cluster the tests may break.
 *
 * <ul>
 *   <li>Two ResourceManagers in HA with work-preserving recovery from a
 *       FileSystemRMStateStore both share, failed over by hand (no ZooKeeper, so no
 *       elector: the control endpoint does what {@code yarn rmadmin -failover} does,
 *       and Hadoop's own TestRMFailover.testExplicitFailover). The NodeManagers talk
 *       to the RMs over real RPC with the HA proxy, as on a real cluster, which
 *       MiniYARNCluster allows only with fixed ports: they are picked free before
 *       the start.</li>
 *   <li>Three DataNodes, so one can stop while blocks of replication 2 stay readable.</li>
 *   <li>The NodeManagers' memory checks as Apache Hadoop ships them (--enforce-memory,
 *       on by default).</li>
 *   <li>The control endpoint ({@link Control}) that stops DataNodes and fails the RM
 *       over.</li>
 * </ul>
 */
final class Faults {
  static final int RESOURCE_MANAGERS = 2;
  static final int DATA_NODES = 3;
  static final String[] RM_IDS = {"rm0", "rm1"};

  private final boolean enforceMemory;
  private Control control;

  private Faults(boolean enforceMemory) {
    this.enforceMemory = enforceMemory;
  }

  /** Returns the faults mode if args have --faults, else null. */
  static Faults fromArgs(String[] args) {
    boolean on = false;
    boolean enforce = true;
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--faults" -> on = true;
        case "--enforce-memory" -> {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException("--enforce-memory needs true or false");
          }
          String v = args[++i];
          if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("--enforce-memory " + v + ": want true or false");
          }
          enforce = Boolean.parseBoolean(v);
        }
        default -> { }
      }
    }
    return on ? new Faults(enforce) : null;
  }

  /**
   * Sets the YARN keys of the faults cluster on conf: HA with recovery, fixed ports
   * for both RMs, and the memory checks. work holds the RM state store.
   */
  void configureYarn(Configuration conf, File work) throws IOException {
    String host = MiniYARNCluster.getHostname();
    conf.setBoolean(YarnConfiguration.RM_HA_ENABLED, true);
    conf.set(YarnConfiguration.RM_HA_IDS, String.join(",", RM_IDS));
    conf.set(YarnConfiguration.RM_CLUSTER_ID, "spindle-faults");
    // Failover by hand (the control endpoint); the embedded elector would need ZooKeeper.
    conf.setBoolean(YarnConfiguration.AUTO_FAILOVER_ENABLED, false);
    List<String> keys = new ArrayList<>(YarnConfiguration.getServiceAddressConfKeys(conf));
    if (!keys.contains(YarnConfiguration.RM_WEBAPP_HTTPS_ADDRESS)) {
      keys.add(YarnConfiguration.RM_WEBAPP_HTTPS_ADDRESS);
    }
    int[] ports = freePorts(keys.size() * RM_IDS.length);
    int p = 0;
    for (String id : RM_IDS) {
      for (String key : keys) {
        conf.set(HAUtil.addSuffix(key, id), host + ":" + ports[p++]);
      }
    }
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_FIXED_PORTS, true);
    conf.setBoolean(YarnConfiguration.YARN_MINICLUSTER_USE_RPC, true);
    // Work-preserving recovery: the RM that becomes active reads the applications from
    // the store the other wrote; running containers and AMs survive.
    conf.setBoolean(YarnConfiguration.RECOVERY_ENABLED, true);
    conf.setBoolean(YarnConfiguration.RM_WORK_PRESERVING_RECOVERY_ENABLED, true);
    conf.set(YarnConfiguration.RM_STORE, "org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore");
    conf.set(YarnConfiguration.FS_RM_STATE_STORE_URI, new File(work, "rm-state").toURI().toString());
    // Clients, NodeManagers and AMs fail over within a second, as in Hadoop's own HA
    // tests; the defaults (yarn.resourcemanager.connect.retry-interval.ms, 30 s) would
    // make a client that tried the new RM a moment too early wait up to 45 s.
    conf.setLong(YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_BASE_MS, 100);
    conf.setLong(YarnConfiguration.CLIENT_FAILOVER_SLEEPTIME_MAX_MS, 1000);
    schedulerFile(conf, new File(work, "site"));
    if (enforceMemory) {
      // Apache Hadoop's defaults: both checks on, virtual memory 2.1 times physical.
      conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, true);
      conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, true);
      conf.setFloat(YarnConfiguration.NM_VMEM_PMEM_RATIO, 2.1f);
      // MiniYARNCluster turns the containers monitor off unless told not to.
      conf.setBoolean("yarn.minicluster.control-resource-monitoring", true);
      // Hadoop 3.4.1's ContainersMonitorImpl.checkLimit returns at once while this is
      // true and elastic (cgroups) control is off, which is the default (YARN-11967):
      // without it neither check would run.
      conf.setBoolean("yarn.nodemanager.resource.memory.enforced", false);
    } else {
      // What MiniYARNCluster does anyway, written down so yarn-site.xml tells the truth.
      conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
      conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    }
  }

  /**
   * Writes the inline queue keys of conf to DIR/capacity-scheduler.xml and puts DIR on
   * the class path. An RM becoming active refreshes its queues from that file alone
   * (AdminService.refreshAll), which the shaded minicluster jar does not have.
   */
  private static void schedulerFile(Configuration conf, File dir) throws IOException {
    Configuration cs = new Configuration(false);
    for (Map.Entry<String, String> e : conf.getPropsWithPrefix("yarn.scheduler.capacity.").entrySet()) {
      cs.set("yarn.scheduler.capacity." + e.getKey(), e.getValue());
    }
    dir.mkdirs();
    try (OutputStream o = new FileOutputStream(new File(dir, "capacity-scheduler.xml"))) {
      cs.writeXml(o);
    }
    // The refresh reads it through a Configuration of its own, which takes the thread's
    // context class loader: the main thread's (the first RM's start), inherited by
    // the control endpoint's threads (each failover).
    ClassLoader cl = new URLClassLoader(new URL[] {dir.toURI().toURL()}, Thread.currentThread().getContextClassLoader());
    Thread.currentThread().setContextClassLoader(cl);
    conf.setClassLoader(cl);
  }

  /** Starts the control endpoint. */
  void serve(MiniYARNCluster yarn, MiniDFSCluster dfs) throws IOException {
    control = new Control(yarn, dfs);
    control.start();
  }

  /** Stops the control endpoint. */
  void close() {
    if (control != null) {
      control.stop();
    }
  }

  /**
   * The members cluster.json adds for the faults cluster: the RMs by id, the
   * DataNodes by index, the memory checks and the control endpoint.
   */
  String json(Configuration yc, MiniDFSCluster dfs) {
    StringBuilder b = new StringBuilder();
    b.append("  \"resourceManagers\": [\n");
    for (int i = 0; i < RM_IDS.length; i++) {
      String id = RM_IDS[i];
      b.append("    {\"id\": ").append(Harness.q(id))
          .append(", \"address\": ").append(Harness.q(yc.get(HAUtil.addSuffix(YarnConfiguration.RM_ADDRESS, id))))
          .append(", \"scheduler\": ").append(Harness.q(yc.get(HAUtil.addSuffix(YarnConfiguration.RM_SCHEDULER_ADDRESS, id))))
          .append(", \"resourceTracker\": ").append(Harness.q(yc.get(HAUtil.addSuffix(YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS, id))))
          .append(", \"admin\": ").append(Harness.q(yc.get(HAUtil.addSuffix(YarnConfiguration.RM_ADMIN_ADDRESS, id))))
          .append(", \"webapp\": ").append(Harness.q(yc.get(HAUtil.addSuffix(YarnConfiguration.RM_WEBAPP_ADDRESS, id))))
          .append("}").append(i + 1 < RM_IDS.length ? ",\n" : "\n");
    }
    b.append("  ],\n");
    b.append("  \"dataNodes\": [\n");
    List<DataNode> dns = dfs.getDataNodes();
    for (int i = 0; i < dns.size(); i++) {
      b.append("    ").append(Control.dataNodeJson(i, dns.get(i), true)).append(i + 1 < dns.size() ? ",\n" : "\n");
    }
    b.append("  ],\n");
    b.append("  \"memoryEnforced\": ").append(enforceMemory).append(",\n");
    b.append("  \"control\": {\"url\": ").append(Harness.q(control.url()))
        .append(", \"token\": ").append(Harness.q(control.token())).append("},\n");
    return b.toString();
  }

  /** The address of the RM id, for the cluster.json members every mode writes. */
  static String rmAddress(Configuration yc, String key) {
    return yc.get(HAUtil.addSuffix(key, RM_IDS[0]));
  }

  /**
   * Returns n ports free at the moment, all different, below the kernel's ephemeral
   * range. The standby RM binds its client, scheduler and tracker ports only when it
   * becomes active, maybe long after the start: a port from the ephemeral range
   * would by then often be taken by a connection or a listener on port 0 (an
   * executor's, a shuffle daemon's) and the failover fail with "Address already in
   * use". Fixed-port servers are few, so ports below the range stay free.
   */
  private static int[] freePorts(int n) throws IOException {
    int low = ephemeralLow();
    int base = Math.max(1024, low - 12_000);
    java.util.Random rnd = new java.util.Random();
    java.util.Set<Integer> picked = new java.util.LinkedHashSet<>();
    for (int tries = 0; picked.size() < n; tries++) {
      if (tries > 100 * n) {
        throw new IOException("no " + n + " free ports in [" + base + ", " + low + ")");
      }
      int port = base + rnd.nextInt(low - base);
      if (picked.contains(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(port));
        picked.add(port);
      } catch (IOException e) {
        // taken: try another
      }
    }
    return picked.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The first port of the kernel's ephemeral range (Linux), else IANA's 49152. */
  private static int ephemeralLow() {
    try {
      // A reader, not Files.readAllBytes: that trusts the size /proc reports.
      try (java.io.BufferedReader in = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))) {
        int low = Integer.parseInt(in.readLine().trim().split("\\s+")[0]);
        return low > 2048 ? low : 49152;
      }
    } catch (IOException | RuntimeException e) {
      return 49152;
    }
  }
}
