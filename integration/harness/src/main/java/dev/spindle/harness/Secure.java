package dev.spindle.harness;

import java.io.File;
import java.security.PrivilegedExceptionAction;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * The secure mode of the harness: Kerberos against the MIT KDC that scripts/kdc runs,
 * RPC privacy, SASL-protected data transfer with block access tokens, service principals
 * with _HOST, and delegation tokens with lifetimes of minutes.
 *
 * <p>HDFS and YARN share one JVM, and an RPC server advertises the principal of the
 * UGI it runs as. The NameNode and DataNodes are therefore started inside a doAs of
 * hdfs/localhost and the ResourceManager and NodeManagers inside one of yarn/localhost:
 * server threads inherit the subject of the thread that created them (Java 17), so each
 * service keeps its own principal even though the daemons' keytab logins replace the
 * process-wide login user (which ends as yarn, as the RM's token renewer needs).
 */
final class Secure {
  static final String HDFS = "hdfs/localhost";
  static final String YARN = "yarn/localhost";
  static final String HTTP = "HTTP/localhost";
  /** The test user: the principal tests log in as, and the HDFS owner of its home. */
  static final String USER = "spindle";

  /** Lifetimes in ms; the renewal test runs past the max lifetime. */
  private static final long RENEW_INTERVAL = Long.getLong("spindle.token.renew-interval", 60_000);
  private static final long MAX_LIFETIME = Long.getLong("spindle.token.max-lifetime", 120_000);

  private final String realm;
  private final String keytab;
  private UserGroupInformation hdfs;
  private UserGroupInformation yarn;

  private Secure(String realm, String keytab) {
    this.realm = realm;
    this.keytab = keytab;
  }

  /** Returns the secure mode if args have --secure, else null. */
  static Secure fromArgs(String[] args) {
    boolean on = false;
    String kdcDir = null;
    String realm = "SPINDLE.TEST";
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--secure" -> on = true;
        case "--kdc-dir" -> kdcDir = args[++i];
        case "--realm" -> realm = args[++i];
        default -> { }
      }
    }
    if (!on) {
      return null;
    }
    if (kdcDir == null) {
      throw new IllegalArgumentException("--secure needs --kdc-dir");
    }
    return new Secure(realm, new File(kdcDir, "service.keytab").getAbsolutePath());
  }

  private String principal(String p) {
    return p + "@" + realm;
  }

  private String pattern(String service) {
    return service + "/_HOST@" + realm;
  }

  /** Sets the core and HDFS keys of a secure cluster on conf and logs the services in. */
  void configure(Configuration conf) throws Exception {
    apply(conf);
    UserGroupInformation.setConfiguration(conf);
    hdfs = UserGroupInformation.loginUserFromKeytabAndReturnUGI(principal(HDFS), keytab);
    yarn = UserGroupInformation.loginUserFromKeytabAndReturnUGI(principal(YARN), keytab);
  }

  /** Sets the core and HDFS keys of a secure cluster. */
  private void apply(Configuration conf) {
    conf.set("hadoop.security.authentication", "kerberos");
    conf.set("hadoop.security.authorization", "false");
    conf.set("hadoop.rpc.protection", "privacy");
    // Principals that are no OS accounts would make group lookups fail loudly.
    conf.set("hadoop.user.group.static.mapping.overrides",
        "hdfs=supergroup;yarn=supergroup;HTTP=supergroup;" + USER + "=" + USER);
    conf.set("dfs.namenode.kerberos.principal", pattern("hdfs"));
    conf.set("dfs.namenode.keytab.file", keytab);
    // DataNodes bind 127.0.0.1, which _HOST would become; no client checks their
    // principal (data transfer authenticates with block access tokens).
    conf.set("dfs.datanode.kerberos.principal", principal(HDFS));
    conf.set("dfs.datanode.keytab.file", keytab);
    conf.set("dfs.web.authentication.kerberos.principal", pattern("HTTP"));
    conf.set("dfs.web.authentication.kerberos.keytab", keytab);
    conf.set("dfs.namenode.kerberos.internal.spnego.principal", pattern("HTTP"));
    conf.setBoolean("dfs.block.access.token.enable", true);
    conf.set("dfs.data.transfer.protection", "privacy");
    // Privacy as production clusters run it: the DataNodes agree AES/CTR after the
    // SASL handshake (colinmarc/hdfs's DIGEST-MD5 privacy stream mishandles reads
    // that span two SASL packets; its AES stream does not).
    conf.set("dfs.encrypt.data.transfer.cipher.suites", "AES/CTR/NoPadding");
    // A secure DataNode wants privileged ports or HTTPS; SASL on its data port is what
    // the tests are about, so the test-only escape hatch allows plain ports.
    conf.setBoolean("ignore.secure.ports.for.testing", true);
    conf.setLong("dfs.namenode.delegation.token.renew-interval", RENEW_INTERVAL);
    conf.setLong("dfs.namenode.delegation.token.max-lifetime", MAX_LIFETIME);
  }

  /**
   * Writes the secure keys as core-site.xml to the directory args name (site --out
   * DIR --kdc-dir DIR), for the harness's classpath: the NodeManagers' localizers
   * read their configuration from there, as on a real node.
   */
  public static void main(String[] args) throws Exception {
    String out = null;
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals("--out")) {
        out = args[i + 1];
      }
    }
    Secure s = fromArgs(new String[] {"site", "--secure", "--kdc-dir", flagValue(args, "--kdc-dir")});
    if (out == null || s == null) {
      System.err.println("usage: Secure site --out DIR --kdc-dir DIR");
      System.exit(2);
    }
    Configuration c = new Configuration(false);
    s.apply(c);
    File dir = new File(out);
    dir.mkdirs();
    try (java.io.OutputStream o = new java.io.FileOutputStream(new File(dir, "core-site.xml"))) {
      c.writeXml(o);
    }
  }

  private static String flagValue(String[] args, String name) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return null;
  }

  /**
   * Sets the YARN keys of a secure cluster on conf, and makes yarn/localhost the
   * process's login user: MiniYARNCluster's ResourceManager skips its own keytab
   * login, and its token renewer renews as the login user, which must be the
   * renewer named in the applications' tokens.
   */
  void configureYarn(Configuration conf) throws Exception {
    UserGroupInformation.loginUserFromKeytab(principal(YARN), keytab);
    conf.set("yarn.resourcemanager.principal", pattern("yarn"));
    conf.set("yarn.resourcemanager.keytab", keytab);
    conf.set("yarn.nodemanager.principal", pattern("yarn"));
    conf.set("yarn.nodemanager.keytab", keytab);
    conf.set("yarn.resourcemanager.webapp.spnego-principal", pattern("HTTP"));
    conf.set("yarn.resourcemanager.webapp.spnego-keytab-file", keytab);
    conf.set("yarn.nodemanager.webapp.spnego-principal", pattern("HTTP"));
    conf.set("yarn.nodemanager.webapp.spnego-keytab-file", keytab);
    conf.setBoolean("yarn.resourcemanager.webapp.delegation-token-auth-filter.enabled", false);
    // Containers find the test realm's krb5.conf the way an admin would point them
    // at a non-default one: the AM logs in from its keytab with it.
    String krb5 = System.getProperty("java.security.krb5.conf");
    if (krb5 != null) {
      conf.set("yarn.nodemanager.admin-env", "MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX,KRB5_CONFIG=" + krb5);
    }
    conf.setLong("yarn.resourcemanager.delegation.token.renew-interval", RENEW_INTERVAL);
    conf.setLong("yarn.resourcemanager.delegation.token.max-lifetime", MAX_LIFETIME);
  }

  /** Action is work to run as a service's principal. */
  interface Action<T> {
    T run() throws Exception;
  }

  /** Runs a as the service principal (HDFS or YARN). */
  <T> T as(String service, Action<T> a) throws Exception {
    UserGroupInformation ugi = service.equals(HDFS) ? hdfs : yarn;
    return ugi.doAs((PrivilegedExceptionAction<T>) a::run);
  }

  /** Gives the test user a home directory, as the HDFS superuser. */
  void prepare(FileSystem fs) throws Exception {
    as(HDFS, () -> {
      Path home = new Path("/user/" + USER);
      fs.mkdirs(home);
      fs.setOwner(home, USER, USER);
      fs.setPermission(home, new FsPermission((short) 0755));
      return null;
    });
  }
}
