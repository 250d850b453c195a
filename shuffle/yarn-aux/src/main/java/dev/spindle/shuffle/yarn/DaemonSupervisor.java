package dev.spindle.shuffle.yarn;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;

/**
 * Runs the Go shuffle daemon and keeps it running: restarts it with backoff when it
 * dies, on the port it first bound so that the port in applications' hands stays
 * right, and delivers application events over its stdin until the daemon
 * acknowledges them (events not acknowledged are sent again to the next daemon;
 * the daemon applies them idempotently). Secrets travel only there, never in argv,
 * the environment or logs.
 */
final class DaemonSupervisor {
  /** Reports the daemon's port (0 when down) and why it is down. */
  interface MetaSink {
    void set(int port, String reason);
  }

  private static final Logger LOG = SpindleShuffleService.LOG;
  private static final Pattern PORT = Pattern.compile("\"event\":\"listening\".*\"port\":(\\d+)");
  private static final Pattern METRICS = Pattern.compile("\"metrics\":\"([^\"]+)\"");
  private static final Pattern ACK = Pattern.compile("^\\{\"ack\":(\\d+)(?:,\"error\":\"(.*)\")?\\}$");
  private static final Pattern APP_ID = Pattern.compile("^[A-Za-z0-9_.-]{1,128}$");
  /** Consecutive failed starts after which new containers are told the daemon is down. */
  private static final int FAILURES_BEFORE_DOWN = 3;
  private static final long MAX_BACKOFF_MS = 30_000;
  /** A daemon that lived this long resets the backoff. */
  private static final long STABLE_MS = 60_000;

  private final List<String> baseArgs;
  private final String host;
  private final MetaSink meta;

  private final Object lock = new Object();
  private final Map<Long, String> pending = new LinkedHashMap<>(); // seq → event line, unacknowledged
  private long seq;
  private int port; // the port to listen on; 0 until the first daemon bound one
  private String metricsAddr; // the metrics endpoint the first daemon bound, kept too
  private Process process;
  private OutputStream stdin;
  private boolean announced;
  private String downReason = "not started";
  private int failures;
  private boolean stopping;
  private Thread loop;
  private final Deque<String> stderrTail = new ArrayDeque<>();

  DaemonSupervisor(List<String> args, String host, int port, MetaSink meta) {
    this.baseArgs = args;
    this.host = host;
    this.port = port;
    this.meta = meta;
  }

  static String initEvent(String app, byte[] secret) {
    return "\"op\":\"init\",\"app\":\"" + app + "\",\"secret\":\"" + Base64.getEncoder().encodeToString(secret) + "\"";
  }

  static String stopEvent(String app) {
    return "\"op\":\"stop\",\"app\":\"" + app + "\"";
  }

  /**
   * Starts the supervision loop and waits up to timeoutMs for the first daemon to
   * announce its port. Returns null when it did, else why not; the loop goes on
   * trying either way.
   */
  String start(long timeoutMs) throws InterruptedException {
    String path = baseArgs.get(0);
    if (path.isEmpty()) {
      String why = SpindleShuffleService.DAEMON_PATH + " is not set";
      markDown(why);
      return why;
    }
    if (!new File(path).canExecute()) {
      String why = "daemon " + path + " is not an executable file";
      markDown(why);
      return why;
    }
    loop = new Thread(this::superviseLoop, "spindle-shuffle-supervisor");
    loop.setDaemon(true);
    loop.start();
    long deadline = System.currentTimeMillis() + timeoutMs;
    synchronized (lock) {
      // Until it serves, or its first attempt fails: a daemon that cannot start
      // should not hold up the NodeManager's start.
      while (!announced && failures == 0 && !stopping) {
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          return downReason + " (no port announced within " + timeoutMs + " ms)";
        }
        lock.wait(left);
      }
      return announced ? null : downReason;
    }
  }

  /** Why the daemon is down, or null while it serves. */
  String downReason() {
    synchronized (lock) {
      return announced ? null : downReason;
    }
  }

  /** Queues an event (the body of its JSON object) and sends it now if the daemon runs. */
  void send(String body) {
    synchronized (lock) {
      long s = ++seq;
      String line = "{\"seq\":" + s + "," + body + "}\n";
      pending.put(s, line);
      if (announced) {
        write(line);
      }
    }
  }

  /** Stops supervising and the daemon: its stdin closes, which ends it; killed after 10 s. */
  void stop() throws InterruptedException {
    Process p;
    synchronized (lock) {
      stopping = true;
      p = process;
      closeStdin();
      lock.notifyAll();
    }
    if (loop != null) {
      loop.interrupt();
    }
    if (p != null && !p.waitFor(10, TimeUnit.SECONDS)) {
      LOG.warn("{}: daemon did not stop within 10 s; killing it", SpindleShuffleService.NAME);
      p.destroyForcibly();
    }
    if (loop != null) {
      loop.join(15_000);
    }
  }

  private void superviseLoop() {
    long backoff = 1000;
    while (true) {
      synchronized (lock) {
        if (stopping) {
          return;
        }
      }
      long began = System.currentTimeMillis();
      String why;
      try {
        why = runOnce();
      } catch (IOException e) {
        why = "cannot run the daemon: " + e.getMessage();
      } catch (InterruptedException e) {
        return;
      }
      synchronized (lock) {
        if (stopping) {
          return;
        }
        failures = System.currentTimeMillis() - began > STABLE_MS ? 1 : failures + 1;
        if (failures == 1) {
          backoff = 1000;
        }
        downReason = why;
        LOG.error("{}: shuffle daemon {}; restarting it on port {} in {} ms{}", SpindleShuffleService.NAME, why,
            port, backoff, stderrTail.isEmpty() ? "" : "; its last lines: " + String.join(" | ", stderrTail));
        if (failures >= FAILURES_BEFORE_DOWN || port == 0) {
          markDown(why + " (" + failures + " failed starts)");
        }
        lock.notifyAll();
        try {
          lock.wait(backoff);
        } catch (InterruptedException e) {
          return;
        }
      }
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** Runs one daemon until it exits; returns how it ended. */
  private String runOnce() throws IOException, InterruptedException {
    List<String> args = new ArrayList<>(baseArgs);
    int p;
    synchronized (lock) {
      p = port;
      int i = args.indexOf("--metrics-listen");
      if (i >= 0 && metricsAddr != null) {
        args.set(i + 1, metricsAddr);
      }
    }
    args.add("--listen");
    args.add((host.contains(":") ? "[" + host + "]" : host) + ":" + p);
    Process proc = new ProcessBuilder(args).start();
    Thread err = new Thread(() -> logStderr(proc), "spindle-shuffle-stderr");
    err.setDaemon(true);
    err.start();
    synchronized (lock) {
      process = proc;
      stdin = proc.getOutputStream();
      stderrTail.clear();
      if (stopping) {
        closeStdin();
      }
    }
    try (BufferedReader out = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = out.readLine()) != null; ) {
        onLine(line);
      }
    } catch (IOException e) {
      LOG.warn("{}: reading the daemon's output: {}", SpindleShuffleService.NAME, e.toString());
    }
    int code = proc.waitFor();
    err.join(5_000);
    synchronized (lock) {
      announced = false;
      process = null;
      closeStdin();
    }
    return "exited with status " + code;
  }

  private void onLine(String line) {
    Matcher m = PORT.matcher(line);
    if (m.find()) {
      int bound = Integer.parseInt(m.group(1));
      synchronized (lock) {
        if (port != 0 && bound != port) {
          LOG.error("{}: daemon bound port {} instead of {}", SpindleShuffleService.NAME, bound, port);
        }
        port = bound;
        Matcher mm = METRICS.matcher(line);
        if (mm.find()) {
          metricsAddr = mm.group(1);
        }
        announced = true;
        failures = 0;
        downReason = null;
        meta.set(bound, "");
        // Events the previous daemon did not acknowledge, in order.
        for (String ev : pending.values()) {
          write(ev);
        }
        lock.notifyAll();
      }
      LOG.info("{}: shuffle daemon serving on port {}: {}", SpindleShuffleService.NAME, bound, line);
      return;
    }
    Matcher a = ACK.matcher(line);
    if (a.matches()) {
      long s = Long.parseLong(a.group(1));
      synchronized (lock) {
        pending.remove(s);
      }
      if (a.group(2) != null) {
        LOG.error("{}: daemon refused event {}: {}", SpindleShuffleService.NAME, s, a.group(2));
      }
      return;
    }
    LOG.info("{}: daemon: {}", SpindleShuffleService.NAME, line);
  }

  private void logStderr(Process proc) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getErrorStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        LOG.info("{} daemon: {}", SpindleShuffleService.NAME, line);
        synchronized (lock) {
          stderrTail.addLast(line);
          while (stderrTail.size() > 5) {
            stderrTail.removeFirst();
          }
        }
      }
    } catch (IOException e) {
      // The daemon is gone; runOnce reports how it ended.
    }
  }

  /** Writes an event line; lock is held. A failed write is retried with the next daemon. */
  private void write(String line) {
    if (stdin == null) {
      return;
    }
    try {
      stdin.write(line.getBytes(StandardCharsets.UTF_8));
      stdin.flush();
    } catch (IOException e) {
      LOG.warn("{}: writing to the daemon: {}; the event is sent to its successor", SpindleShuffleService.NAME, e.toString());
    }
  }

  private void closeStdin() {
    if (stdin != null) {
      try {
        stdin.close();
      } catch (IOException e) {
        // It is going anyway.
      }
      stdin = null;
    }
  }

  private void markDown(String why) {
    synchronized (lock) {
      downReason = why;
      meta.set(0, "spindle_shuffle daemon down: " + why);
    }
  }

  static boolean validAppId(String app) {
    return APP_ID.matcher(app).matches();
  }
}
