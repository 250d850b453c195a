// JdkSaslServer runs the JDK's own SASL server (DIGEST-MD5 as Hadoop's
// SaslRpcServer creates it, or GSSAPI from a keytab) behind a line protocol
// on stdin/stdout, so the Go tests can record real exchanges with it:
//
//   RESPONSE <hex>  -> CHALLENGE <hex> | COMPLETE <hex> <qop>
//   WRAP <hex>      -> TOKEN <hex>
//   UNWRAP <hex>    -> PLAIN <hex>
//   any failure     -> ERROR <message>
//
// Usage: java JdkSaslServer.java DIGEST-MD5 <qop list> <base64 password>
//        java JdkSaslServer.java GSSAPI <qop list> <keytab> <service/host@REALM>
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.security.PrivilegedExceptionAction;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.RealmCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslServer;

public class JdkSaslServer {
  public static void main(String[] args) throws Exception {
    String mech = args[0];
    Map<String, String> props = new HashMap<>();
    props.put(Sasl.QOP, args[1]);
    if (mech.equals("DIGEST-MD5")) {
      char[] password = args[2].toCharArray();
      CallbackHandler cbh = callbacks -> {
        for (Callback cb : callbacks) {
          if (cb instanceof PasswordCallback) {
            ((PasswordCallback) cb).setPassword(password);
          } else if (cb instanceof AuthorizeCallback) {
            ((AuthorizeCallback) cb).setAuthorized(true);
          } else if (cb instanceof RealmCallback) {
            RealmCallback rc = (RealmCallback) cb;
            rc.setText(rc.getDefaultText());
          }
        }
      };
      // Hadoop's SaslRpcServer: protocol "" and server name "default".
      serve(Sasl.createSaslServer(mech, "", "default", props, cbh));
      return;
    }
    String keytab = args[2];
    String principal = args[3];
    String service = principal.substring(0, principal.indexOf('/'));
    String host = principal.substring(principal.indexOf('/') + 1, principal.indexOf('@'));
    Configuration jaas = new Configuration() {
      @Override
      public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
        Map<String, String> o = new HashMap<>();
        o.put("useKeyTab", "true");
        o.put("keyTab", keytab);
        o.put("principal", principal);
        o.put("storeKey", "true");
        o.put("isInitiator", "false");
        o.put("doNotPrompt", "true");
        return new AppConfigurationEntry[] {
          new AppConfigurationEntry("com.sun.security.auth.module.Krb5LoginModule",
              AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, o)
        };
      }
    };
    LoginContext lc = new LoginContext("server", new Subject(), null, jaas);
    lc.login();
    CallbackHandler cbh = callbacks -> {
      for (Callback cb : callbacks) {
        if (cb instanceof AuthorizeCallback) {
          ((AuthorizeCallback) cb).setAuthorized(true);
        }
      }
    };
    Subject.doAs(lc.getSubject(), (PrivilegedExceptionAction<Void>) () -> {
      serve(Sasl.createSaslServer("GSSAPI", service, host, props, cbh));
      return null;
    });
  }

  static void serve(SaslServer s) throws Exception {
    HexFormat hex = HexFormat.of();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    String line;
    while ((line = in.readLine()) != null) {
      String[] parts = line.split(" ", 2);
      byte[] b = hex.parseHex(parts.length > 1 ? parts[1] : "");
      try {
        switch (parts[0]) {
          case "RESPONSE": {
            byte[] c = s.evaluateResponse(b);
            String t = hex.formatHex(c == null ? new byte[0] : c);
            if (s.isComplete()) {
              System.out.println("COMPLETE " + t + " " + s.getNegotiatedProperty(Sasl.QOP));
            } else {
              System.out.println("CHALLENGE " + t);
            }
            break;
          }
          case "WRAP":
            System.out.println("TOKEN " + hex.formatHex(s.wrap(b, 0, b.length)));
            break;
          case "UNWRAP":
            System.out.println("PLAIN " + hex.formatHex(s.unwrap(b, 0, b.length)));
            break;
          default:
            System.out.println("ERROR unknown command " + parts[0]);
        }
      } catch (Exception e) {
        System.out.println("ERROR " + e.toString().replace('\n', ' '));
      }
      System.out.flush();
    }
  }
}
