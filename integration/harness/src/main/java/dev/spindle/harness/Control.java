package dev.spindle.harness;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import org.apache.hadoop.ha.HAServiceProtocol;
import org.apache.hadoop.ha.HAServiceProtocol.HAServiceState;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.resourcemanager.ResourceManager;

/**
 * The faults cluster's control endpoint: HTTP on 127.0.0.1 at an ephemeral port, each
 * request with "Authorization: Bearer TOKEN" (the token is random, and only
 * cluster.json, mode 0600, holds it). Every operation answers when it is done.
 *
 * <pre>
 *   GET  /rm                      {"active": "rm0", "index": 0, "states": {...}}
 *   POST /rm/failover             the active RM to standby, the other to active; answers
 *                                 once the new one serves and every NodeManager has
 *                                 registered with it
 *   GET  /datanodes               [{"index": 0, "xferAddr": ..., "running": true}, ...]
 *   POST /datanodes/I/stop        DataNode I shut down (its ports closed)
 *   POST /datanodes/I/restart     DataNode I started again on its ports, registered with
 *                                 the NameNode and its blocks reported
 * </pre>
 *
 * Errors are a status (401 no or a wrong token, 404, 405, 409 a state the operation
 * does not apply to, 500) and one line of text.
 */
final class Control {
  private static final Pattern DATANODE = Pattern.compile("/datanodes/(\\d+)/(stop|restart)");
  private static final long WAIT_MS = 120_000;

  private final MiniYARNCluster yarn;
  private final MiniDFSCluster dfs;
  private final String token;
  /** The DataNodes by their index at start; MiniDFSCluster's own list reorders on restart. */
  private final DataNode[] dataNodes;
  private final MiniDFSCluster.DataNodeProperties[] stopped;
  private final Object lock = new Object(); // one operation at a time
  private HttpServer server;
  private ExecutorService pool;

  Control(MiniYARNCluster yarn, MiniDFSCluster dfs) {
    this.yarn = yarn;
    this.dfs = dfs;
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    this.token = HexFormat.of().formatHex(b);
    List<DataNode> dns = dfs.getDataNodes();
    this.dataNodes = dns.toArray(new DataNode[0]);
    this.stopped = new MiniDFSCluster.DataNodeProperties[dataNodes.length];
  }

  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    pool = Executors.newFixedThreadPool(2);
    server.setExecutor(pool);
    server.createContext("/", this::handle);
    server.start();
  }

  void stop() {
    if (server != null) {
      server.stop(0);
      pool.shutdownNow();
    }
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  String token() {
    return token;
  }

  /** A status and a body. */
  private record Reply(int status, String body) {}

  private void handle(HttpExchange ex) throws IOException {
    Reply r;
    try {
      r = authorized(ex) ? route(ex.getRequestMethod(), ex.getRequestURI().getPath())
          : new Reply(401, "missing or wrong bearer token");
    } catch (Exception e) {
      e.printStackTrace();
      String msg = e.getMessage() == null ? "" : e.getMessage().split("\n")[0];
      r = new Reply(500, e.getClass().getName() + ": " + msg);
    }
    byte[] body = (r.body() + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", r.status() == 200 ? "application/json" : "text/plain; charset=utf-8");
    ex.sendResponseHeaders(r.status(), body.length);
    try (OutputStream o = ex.getResponseBody()) {
      o.write(body);
    }
  }

  private boolean authorized(HttpExchange ex) {
    String h = ex.getRequestHeaders().getFirst("Authorization");
    if (h == null || !h.startsWith("Bearer ")) {
      return false;
    }
    return MessageDigest.isEqual(h.substring(7).getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8));
  }

  private Reply route(String method, String path) throws Exception {
    boolean post = method.equals("POST");
    if (path.equals("/rm") || path.equals("/datanodes")) {
      if (!method.equals("GET")) {
        return new Reply(405, method + " " + path + ": use GET");
      }
      return new Reply(200, path.equals("/rm") ? rmJson() : dataNodesJson());
    }
    if (path.equals("/rm/failover")) {
      return post ? failover() : new Reply(405, method + " " + path + ": use POST");
    }
    Matcher m = DATANODE.matcher(path);
    if (m.matches()) {
      if (!post) {
        return new Reply(405, method + " " + path + ": use POST");
      }
      int i = Integer.parseInt(m.group(1));
      if (i >= dataNodes.length) {
        return new Reply(404, "no DataNode " + i + " (there are " + dataNodes.length + ")");
      }
      return m.group(2).equals("stop") ? stopDataNode(i) : restartDataNode(i);
    }
    return new Reply(404, "no such operation: " + method + " " + path);
  }

  private Reply failover() throws Exception {
    synchronized (lock) {
      int from = activeIndex();
      if (from < 0) {
        return new Reply(409, "no ResourceManager is active");
      }
      int to = (from + 1) % yarn.getNumOfResourceManager();
      HAServiceProtocol.StateChangeRequestInfo req =
          new HAServiceProtocol.StateChangeRequestInfo(HAServiceProtocol.RequestSource.REQUEST_BY_USER);
      long began = System.currentTimeMillis();
      // As `yarn rmadmin -failover`: the active one goes first, so two never serve at
      // once; its client, scheduler and tracker ports close with its active services.
      yarn.getResourceManager(from).getRMContext().getRMAdminService().transitionToStandby(req);
      yarn.getResourceManager(to).getRMContext().getRMAdminService().transitionToActive(req);
      if (!yarn.waitForNodeManagersToConnect(WAIT_MS)) {
        return new Reply(500, "the NodeManagers did not register with " + Faults.RM_IDS[to] + " within " + WAIT_MS + " ms");
      }
      System.err.println("harness: failed over from " + Faults.RM_IDS[from] + " to " + Faults.RM_IDS[to]
          + " in " + (System.currentTimeMillis() - began) + " ms");
      return new Reply(200, rmJson());
    }
  }

  /** The active RM's index, or -1; unlike MiniYARNCluster.getActiveRMIndex it does not wait. */
  private int activeIndex() {
    for (int i = 0; i < yarn.getNumOfResourceManager(); i++) {
      ResourceManager rm = yarn.getResourceManager(i);
      if (rm != null && rm.getRMContext().getHAServiceState() == HAServiceState.ACTIVE) {
        return i;
      }
    }
    return -1;
  }

  private String rmJson() {
    StringBuilder states = new StringBuilder("{");
    for (int i = 0; i < yarn.getNumOfResourceManager(); i++) {
      ResourceManager rm = yarn.getResourceManager(i);
      String st = rm == null ? "STOPPED" : rm.getRMContext().getHAServiceState().name();
      states.append(i > 0 ? ", " : "").append(Harness.q(Faults.RM_IDS[i])).append(": ").append(Harness.q(st));
    }
    states.append("}");
    int a = activeIndex();
    return "{\"active\": " + Harness.q(a < 0 ? "" : Faults.RM_IDS[a]) + ", \"index\": " + a + ", \"states\": " + states + "}";
  }

  private Reply stopDataNode(int i) {
    synchronized (lock) {
      if (stopped[i] != null) {
        return new Reply(409, "DataNode " + i + " is already stopped");
      }
      String name = dataNodes[i].getDatanodeId().getXferAddr();
      stopped[i] = dfs.stopDataNode(name);
      if (stopped[i] == null) {
        return new Reply(500, "MiniDFSCluster does not know DataNode " + i + " (" + name + ")");
      }
      System.err.println("harness: stopped DataNode " + i + " (" + name + ")");
      return new Reply(200, dataNodeJson(i, dataNodes[i], false));
    }
  }

  private Reply restartDataNode(int i) throws Exception {
    synchronized (lock) {
      if (stopped[i] == null) {
        return new Reply(409, "DataNode " + i + " is running");
      }
      if (!dfs.restartDataNode(stopped[i], true)) {
        return new Reply(500, "DataNode " + i + " did not restart");
      }
      stopped[i] = null;
      List<DataNode> dns = dfs.getDataNodes();
      DataNode dn = dns.get(dns.size() - 1); // restartDataNode appends it
      dataNodes[i] = dn;
      // Not dfs.waitActive: it counts the live DataNodes the NameNode lists, and a
      // stopped one stays listed live until its heartbeats are ~10 min overdue.
      dfs.waitDatanodeConnectedToActive(dn, (int) WAIT_MS);
      dfs.waitDatanodeFullyStarted(dn, (int) WAIT_MS);
      System.err.println("harness: restarted DataNode " + i + " (" + dn.getDatanodeId().getXferAddr() + ")");
      return new Reply(200, dataNodeJson(i, dn, true));
    }
  }

  private String dataNodesJson() {
    synchronized (lock) {
      StringBuilder b = new StringBuilder("[");
      for (int i = 0; i < dataNodes.length; i++) {
        b.append(i > 0 ? ", " : "").append(dataNodeJson(i, dataNodes[i], stopped[i] == null));
      }
      return b.append("]").toString();
    }
  }

  static String dataNodeJson(int i, DataNode dn, boolean running) {
    return "{\"index\": " + i + ", \"xferAddr\": " + Harness.q(dn.getDatanodeId().getXferAddr())
        + ", \"uuid\": " + Harness.q(dn.getDatanodeUuid()) + ", \"running\": " + running + "}";
  }
}
