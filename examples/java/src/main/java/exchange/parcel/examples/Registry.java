package exchange.parcel.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import org.apache.avro.Schema;

/**
 * The two read-only calls of the Confluent registry REST API this example needs, with basic auth: a party's
 * registry user may read schemas and look ids up, and cannot register anything (the exchange registers the
 * schemas when it provisions a deployment).
 */
final class Registry {
  /** The registry refused or failed a call, or has no version of the subject that is this build's schema. */
  static final class RegistryError extends RuntimeException {
    RegistryError(String message) {
      super(message);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final Settings settings;

  Registry(Settings settings) {
    this.settings = settings;
  }

  /**
   * The registry id of `expected` under `subject`: the latest version when it is this schema, else the newest
   * older version that is. "Is" means Avro's Schema.equals: names, fields, types, defaults and custom attributes
   * such as `dataClass` (docs aside), so records encoded with `expected` are exactly what the id stands for.
   */
  int schemaIdOf(String subject, Schema expected) {
    String base = "/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8) + "/versions";
    JsonNode latest = get(base + "/latest");
    if (matches(latest, expected)) return latest.get("id").asInt();
    JsonNode versions = get(base);
    for (int i = versions.size() - 1; i >= 0; i--) {
      JsonNode v = get(base + "/" + versions.get(i).asInt());
      if (matches(v, expected)) return v.get("id").asInt();
    }
    throw new RegistryError("none of the " + versions.size() + " version(s) of " + subject + " is this build's "
        + expected.getName() + " schema: build the example from the exchange's schemas/avro, or ask the exchange to provision them");
  }

  private static boolean matches(JsonNode version, Schema expected) {
    String type = version.path("schemaType").asText("AVRO");
    if (!type.equals("AVRO") || !version.hasNonNull("schema")) return false;
    return new Schema.Parser().parse(version.get("schema").asText()).equals(expected);
  }

  private JsonNode get(String path) {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(settings.registryUrl() + path))
        .timeout(Duration.ofSeconds(10))
        .header("Accept", "application/vnd.schemaregistry.v1+json");
    if (!settings.registryUsername().isEmpty()) {
      String token = settings.registryUsername() + ":" + settings.registryPassword();
      req.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(token.getBytes(StandardCharsets.UTF_8)));
    }
    HttpResponse<String> res;
    try {
      res = http.send(req.GET().build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new RegistryError("GET " + path + " failed (" + e.getMessage() + "); is SCHEMA_REGISTRY_URL=" + settings.registryUrl() + " reachable?");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryError("GET " + path + " was interrupted");
    }
    if (res.statusCode() == 401 || res.statusCode() == 403) {
      throw new RegistryError("GET " + path + " answered " + res.statusCode() + ": check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD");
    }
    if (res.statusCode() == 404) throw new RegistryError("GET " + path + " answered 404: the exchange has not registered this subject (is PX_TOPIC_PREFIX right?)");
    if (res.statusCode() / 100 != 2) {
      String body = res.body();
      throw new RegistryError("GET " + path + " answered " + res.statusCode() + ": " + body.substring(0, Math.min(300, body.length())));
    }
    try {
      return JSON.readTree(res.body());
    } catch (IOException e) {
      throw new RegistryError("GET " + path + " answered something that is not JSON");
    }
  }
}
