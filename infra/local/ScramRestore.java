// Re-asserts SCRAM-SHA-512 credentials on the local stack's cluster, run by `stack.sh up` after the nodes start,
// with Java's single-file launcher and the broker's own kafka-clients jar. It connects to the INTERNAL listener
// with a node's certificate (a super user by mutual TLS), so it works even when no SCRAM user can log in.
//
// Why: on this stack (Kafka 3.9.1, three combined KRaft nodes), SCRAM credentials are in the metadata log after a
// restart (kafka.tools.DumpLogSegments shows the USER_SCRAM_CREDENTIAL_RECORDs) but no broker authenticates them:
// every SCRAM login fails until the credential is written again. The stack keeps each principal's password in its
// credentials directory, so it writes them again at every start.
//
//   java -cp "<kafka libs>/*" ScramRestore.java <internal bootstrap> <client.properties>   < "user<TAB>password" lines
import java.io.BufferedReader;
import java.io.FileReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

public class ScramRestore {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    try (FileReader r = new FileReader(args[1])) { p.load(r); }
    p.put("request.timeout.ms", "10000");
    p.put("default.api.timeout.ms", "60000");
    List<UserScramCredentialAlteration> upserts = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
      for (String line; (line = in.readLine()) != null; ) {
        int tab = line.indexOf('\t');
        if (tab <= 0) continue;
        upserts.add(new UserScramCredentialUpsertion(line.substring(0, tab), new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), line.substring(tab + 1)));
      }
    }
    long deadline = System.currentTimeMillis() + 60_000;
    for (;;) {
      try (Admin admin = Admin.create(p)) {
        admin.alterUserScramCredentials(upserts).all().get();
        System.out.println("scram credentials written: " + upserts.size());
        return;
      } catch (Exception e) {
        if (System.currentTimeMillis() > deadline) {
          System.err.println("could not write scram credentials: " + e);
          System.exit(1);
        }
        Thread.sleep(1000);
      }
    }
  }
}
