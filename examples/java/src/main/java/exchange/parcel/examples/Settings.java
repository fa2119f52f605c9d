package exchange.parcel.examples;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;

/**
 * The connection settings, read from the same environment variables as the TypeScript SDK
 * (services/shared/src/config.ts), with the same defaults (the local stack). Nothing is hard-coded:
 * source the party's credential file (or `npm run -s stack -- env <principal>`) and run.
 */
record Settings(
    List<String> brokers,
    String clientId,
    boolean ssl,
    String caFile,
    String saslMechanism,
    String username,
    String password,
    String registryUrl,
    String registryUsername,
    String registryPassword,
    String topicPrefix) {

  private static final Pattern BROKER = Pattern.compile("^(\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+):(\\d{1,5})$");
  private static final Pattern TOPIC_CHARS = Pattern.compile("^[A-Za-z0-9._-]{1,100}$");

  /** A setting with a bad value: the message names the variable and what to set it to. */
  static final class SettingError extends RuntimeException {
    SettingError(String name, String problem, String fix) {
      super(name + ": " + problem + "; " + fix);
    }
  }

  static Settings fromEnv(Map<String, String> env) {
    String brokersRaw = get(env, "KAFKA_BROKERS", "127.0.0.1:39092");
    List<String> brokers = List.of(brokersRaw.split(",")).stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
    if (brokers.isEmpty()) throw new SettingError("KAFKA_BROKERS", "no broker given", "set it to host:port[,host:port...]");
    for (String b : brokers) {
      if (!BROKER.matcher(b).matches()) throw new SettingError("KAFKA_BROKERS", "'" + b + "' is not host:port", "set it to a list such as broker1:9093,broker2:9093");
    }
    String sslRaw = get(env, "KAFKA_SSL", "true").toLowerCase();
    boolean ssl = switch (sslRaw) {
      case "1", "true", "yes", "on" -> true;
      case "0", "false", "no", "off" -> false;
      default -> throw new SettingError("KAFKA_SSL", "'" + sslRaw + "' is not a boolean", "set it to true or false");
    };
    String caFile = get(env, "KAFKA_SSL_CA_FILE", "");
    if (!caFile.isEmpty() && !ssl) throw new SettingError("KAFKA_SSL_CA_FILE", "is set but KAFKA_SSL is false", "set KAFKA_SSL=true or unset KAFKA_SSL_CA_FILE");
    String mechanism = get(env, "KAFKA_SASL_MECHANISM", "").toLowerCase();
    String saslMechanism = switch (mechanism) {
      case "" -> "";
      case "plain" -> "PLAIN";
      case "scram-sha-256" -> "SCRAM-SHA-256";
      case "scram-sha-512" -> "SCRAM-SHA-512";
      default -> throw new SettingError("KAFKA_SASL_MECHANISM", "'" + mechanism + "' is not supported", "set it to plain, scram-sha-256 or scram-sha-512");
    };
    String username = get(env, "KAFKA_SASL_USERNAME", "");
    String password = get(env, "KAFKA_SASL_PASSWORD", "");
    if (!saslMechanism.isEmpty() && (username.isEmpty() || password.isEmpty())) {
      throw new SettingError("KAFKA_SASL_USERNAME", "SASL is enabled but the username or password is empty", "set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (source the party's credential file)");
    }
    String registryUrl = get(env, "SCHEMA_REGISTRY_URL", "http://127.0.0.1:38081").replaceAll("/+$", "");
    if (!registryUrl.startsWith("http://") && !registryUrl.startsWith("https://")) {
      throw new SettingError("SCHEMA_REGISTRY_URL", "'" + registryUrl + "' is not an http(s) URL", "set it to a URL such as http://127.0.0.1:38081");
    }
    String prefix = get(env, "PX_TOPIC_PREFIX", "px");
    if (!TOPIC_CHARS.matcher(prefix).matches()) throw new SettingError("PX_TOPIC_PREFIX", "'" + prefix + "' has characters Kafka does not allow in topic names", "use letters, digits, '.', '_' and '-'");
    return new Settings(brokers, get(env, "KAFKA_CLIENT_ID", "parcel-exchange"), ssl, caFile, saslMechanism, username, password,
        registryUrl, get(env, "SCHEMA_REGISTRY_USERNAME", ""), get(env, "SCHEMA_REGISTRY_PASSWORD", ""), prefix);
  }

  private static String get(Map<String, String> env, String name, String dflt) {
    String v = env.get(name);
    return v == null || v.isBlank() ? dflt : v.trim();
  }

  /** The party the SASL username names (`<prefix>.<party>`), or null when it names none. */
  String partyOfUsername() {
    String head = topicPrefix + ".";
    if (!username.startsWith(head)) return null;
    String party = username.substring(head.length());
    return party.isEmpty() || party.contains(".") ? null : party;
  }

  /** Brokers, TLS with the cluster's CA (a PEM file, as the SDK takes it) and SASL, as the Java client takes them. */
  Properties kafkaProperties() {
    Properties p = new Properties();
    p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, String.join(",", brokers));
    p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
    boolean sasl = !saslMechanism.isEmpty();
    p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, ssl ? (sasl ? "SASL_SSL" : "SSL") : (sasl ? "SASL_PLAINTEXT" : "PLAINTEXT"));
    if (ssl && !caFile.isEmpty()) {
      p.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
      p.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, caFile);
    }
    if (sasl) {
      String module = saslMechanism.equals("PLAIN")
          ? "org.apache.kafka.common.security.plain.PlainLoginModule"
          : "org.apache.kafka.common.security.scram.ScramLoginModule";
      p.put(SaslConfigs.SASL_MECHANISM, saslMechanism);
      p.put(SaslConfigs.SASL_JAAS_CONFIG, module + " required username=\"" + jaasQuote(username) + "\" password=\"" + jaasQuote(password) + "\";");
    }
    return p;
  }

  private static String jaasQuote(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
