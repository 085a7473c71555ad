package dev.cai.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import dev.cai.cluster.ClusterConfigs;
import dev.cai.cluster.ClusterRole;
import dev.cai.cluster.HostPort;
import dev.cai.cluster.NodeSettings;
import dev.cai.cluster.TlsSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployment examples in cluster-config/deploy/ against the code: their command lines are accepted by
 * {@code cai node}, their ports are common.conf's defaults, their roles exist, their config files load and make each
 * node advertise the address its seeds name. The YAML is read line by line (no YAML parser on the class path): the
 * manifest keeps each container's {@code args} a one-line JSON array and each env value on the line after its name.
 */
class DeployExamplesTest {
  private static final Path DEPLOY = Path.of("..", "cluster-config", "deploy");
  private static final Config DEFAULTS = ClusterConfigs.load(new NodeSettings(ClusterRole.ALL,
      List.of(HostPort.parse("127.0.0.1:25520")), Optional.empty(), OptionalInt.empty(), OptionalInt.empty()));
  private static final int PORT = DEFAULTS.getInt("cai.cluster.port");
  private static final int MANAGEMENT_PORT = DEFAULTS.getInt("cai.cluster.management-port");

  /** Parses {@code args} as {@code cai ARGS} would and returns the node's validated settings. */
  private static NodeSettings nodeSettings(List<String> args) {
    picocli.CommandLine.ParseResult parsed = Main.commandLine().parseArgs(args.toArray(String[]::new));
    assertTrue(parsed.hasSubcommand(), args.toString());
    return ((NodeCommand) parsed.subcommand().commandSpec().userObject()).settings();
  }

  /** {@code args} with the value of {@code --config} replaced by {@code file}. */
  private static List<String> withConfig(List<String> args, Path file) {
    List<String> out = new ArrayList<>(args);
    out.set(out.indexOf("--config") + 1, file.toString());
    return out;
  }

  /** The node configuration {@code conf} (HOCON, resolved) loaded as a node of {@code s} with TLS off. */
  private static Config load(NodeSettings s, Config conf, Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("resolved.conf"), conf
        .withValue("cai.cluster.tls.enabled", ConfigValueFactory.fromAnyRef(false)).root().render(ConfigRenderOptions.concise()));
    return ClusterConfigs.load(new NodeSettings(s.role(), s.seeds(), Optional.of(file), s.port(), s.managementPort()));
  }

  // ---- systemd ----

  private static Map<String, String> envFile(Path file) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file)) {
      if (!line.isBlank() && !line.startsWith("#")) {
        int eq = line.indexOf('=');
        env.put(line.substring(0, eq), line.substring(eq + 1).replaceAll("^\"|\"$", ""));
      }
    }
    return env;
  }

  /** ExecStart as systemd runs it: %i is the instance, ${X} one word, $X split at spaces. */
  private static List<String> execStart(String line, String instance, Map<String, String> env) {
    List<String> words = new ArrayList<>();
    for (String w : line.replace("%i", instance).split("\\s+")) {
      Matcher braced = Pattern.compile("\\$\\{(\\w+)}").matcher(w);
      if (braced.matches()) {
        words.add(env.get(braced.group(1)));
      } else if (w.startsWith("$")) {
        words.addAll(Arrays.asList(env.get(w.substring(1)).split("\\s+")));
      } else {
        words.add(w);
      }
    }
    return words;
  }

  @Test
  void shouldStartEveryRoleFromTheSystemdTemplateWithTheExampleEnvironment(@TempDir Path dir) throws Exception {
    List<String> unit = Files.readAllLines(DEPLOY.resolve("systemd/cai-node@.service"));
    assertTrue(unit.contains("Restart=on-failure"), unit.toString());
    assertTrue(unit.contains("EnvironmentFile=/etc/cai/node.env"), unit.toString());
    Map<String, String> env = envFile(DEPLOY.resolve("systemd/node.env.example"));
    assertEquals(String.valueOf(PORT), env.get("CAI_PORT"));
    assertEquals(String.valueOf(MANAGEMENT_PORT), env.get("CAI_MANAGEMENT_PORT"));
    assertTrue(env.containsKey(TlsSettings.KEY_STORE_PASSWORD_ENV) && env.containsKey(TlsSettings.TRUST_STORE_PASSWORD_ENV),
        env.toString());
    String exec = unit.stream().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow().substring("ExecStart=".length());

    Path example = DEPLOY.resolve("systemd/node.conf.example");
    Config conf = ConfigFactory.parseFile(example.toFile()).resolve();
    assertTrue(conf.getBoolean("cai.cluster.tls.enabled"));
    for (ClusterRole role : ClusterRole.nodeRoles()) {
      List<String> words = execStart(exec, role.id(), env);
      assertEquals("/opt/cai/cai", words.get(0));
      assertEquals("/etc/cai/node.conf", words.get(words.indexOf("--config") + 1));
      NodeSettings s = nodeSettings(withConfig(words.subList(1, words.size()), example));
      assertEquals(role, s.role());
      assertEquals(List.of(HostPort.parse("10.0.0.11:25520"), HostPort.parse("10.0.0.12:25520")), s.seeds());
      assertEquals(PORT, s.port().getAsInt());
      assertEquals(MANAGEMENT_PORT, s.managementPort().getAsInt());
      Config node = load(s, conf, dir);
      // the first seed is this example host: it advertises the address the seed list names
      assertEquals(s.seeds().get(0).host(), node.getString("pekko.remote.artery.canonical.hostname"));
    }
  }

  // ---- Kubernetes ----

  /** One YAML document of the manifest: its kind, name and lines. */
  record Doc(String kind, String name, List<String> lines) {
    String value(String key) {
      return lines.stream().map(String::strip).filter(l -> l.startsWith(key + ": ")).findFirst()
          .map(l -> l.substring(key.length() + 2)).orElseThrow(() -> new AssertionError(kind + " " + name + ": no " + key));
    }

    /** A one-line list such as {@code args: ["node", "--role", "policy"]} (YAML flow sequence = JSON array). */
    List<String> list(String key) {
      List<String> out = new ArrayList<>();
      JsonParser.parseString(value(key)).getAsJsonArray().forEach(e -> out.add(e.getAsString()));
      return out;
    }

    /** Where the volume {@code volume} is mounted: {@code - {name: VOLUME, mountPath: PATH, ...}}. */
    String mountPath(String volume) {
      Pattern p = Pattern.compile("^\\s*- \\{name: " + volume + ", mountPath: ([^,}]+)[,}].*");
      return lines.stream().map(p::matcher).filter(Matcher::matches).findFirst().map(m -> m.group(1))
          .orElseThrow(() -> new AssertionError(kind + " " + name + ": volume " + volume + " is not mounted"));
    }

    /** Env entries with a literal value: {@code - name: X} followed by {@code value: "..."}. */
    Map<String, String> env() {
      Map<String, String> env = new LinkedHashMap<>();
      for (int i = 0; i + 1 < lines.size(); i++) {
        Matcher name = Pattern.compile("^\\s*- name: (\\S+)$").matcher(lines.get(i));
        Matcher value = Pattern.compile("^\\s*value: \"(.*)\"$").matcher(lines.get(i + 1));
        if (name.matches() && value.matches()) {
          env.put(name.group(1), value.group(1));
        }
      }
      return env;
    }

    /** The line after {@code key:} (a probe's httpGet, say), stripped. */
    String after(String key) {
      return lines.get(lines.stream().map(String::strip).toList().indexOf(key + ":") + 1).strip();
    }
  }

  private static List<Doc> manifest() throws IOException {
    List<Doc> docs = new ArrayList<>();
    List<String> current = new ArrayList<>();
    List<String> all = new ArrayList<>(Files.readAllLines(DEPLOY.resolve("k8s/cai.yaml")));
    all.add("---");
    for (String line : all) {
      if (line.equals("---")) {
        String kind = current.stream().filter(l -> l.startsWith("kind: ")).findFirst().orElseThrow().substring(6);
        String name = current.stream().filter(l -> l.startsWith("  name: ")).findFirst().orElseThrow().substring(8);
        docs.add(new Doc(kind, name, current));
        current = new ArrayList<>();
      } else {
        current.add(line);
      }
    }
    return docs;
  }

  private static Doc doc(List<Doc> docs, String kind, String name) {
    return docs.stream().filter(d -> d.kind().equals(kind) && d.name().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  /** The ConfigMap's node.conf: the block under {@code node.conf: |}, unindented. */
  private static String nodeConf(Doc configMap) {
    StringBuilder sb = new StringBuilder();
    boolean in = false;
    for (String line : configMap.lines()) {
      if (in) {
        sb.append(line.length() > 4 ? line.substring(4) : "").append('\n');
      }
      in |= line.strip().equals("node.conf: |");
    }
    return sb.toString();
  }

  @Test
  void shouldRunEachRoleFromTheKubernetesManifestWithSeedsThatTheLearnersAdvertise(@TempDir Path dir) throws Exception {
    List<Doc> docs = manifest();
    Doc seedService = doc(docs, "Service", "cai-seed");
    assertEquals("None", seedService.value("clusterIP"));
    assertEquals("learner", seedService.value("cai.dev/role"));
    Doc learners = doc(docs, "StatefulSet", "cai-learner");
    assertEquals("cai-seed", learners.value("serviceName"));
    int learnerReplicas = Integer.parseInt(learners.value("replicas"));
    String namespace = doc(docs, "Namespace", "cai").name();
    Doc configMap = doc(docs, "ConfigMap", "cai-node");
    Config nodeConf = ConfigFactory.parseString(nodeConf(configMap));
    assertTrue(nodeConf.getBoolean("cai.cluster.tls.enabled"));

    Set<String> roles = new TreeSet<>();
    for (Doc d : docs.stream().filter(d -> d.kind().equals("Deployment") || d.kind().equals("StatefulSet")).toList()) {
      List<String> args = d.list("args");
      String role = args.get(args.indexOf("--role") + 1);
      roles.add(role);
      assertEquals("cai-" + role, d.name());
      assertEquals(role, d.value("cai.dev/role"));
      assertTrue(d.lines().contains("              containerPort: " + PORT), d.name());
      assertTrue(d.lines().contains("              containerPort: " + MANAGEMENT_PORT), d.name());
      assertEquals("httpGet: {path: /ready, port: management}", d.after("readinessProbe"));
      assertEquals("httpGet: {path: /alive, port: management}", d.after("livenessProbe"));
      List<String> command = d.list("command");
      assertEquals(Main.class.getName(), command.get(command.size() - 1));
      assertTrue(d.lines().contains("            - name: " + TlsSettings.KEY_STORE_PASSWORD_ENV), d.name());
      assertTrue(d.lines().contains("            - name: " + TlsSettings.TRUST_STORE_PASSWORD_ENV), d.name());
      assertTrue(nodeConf.getString("cai.cluster.tls.key-store").startsWith(d.mountPath("tls") + "/"), d.name());
      assertTrue(nodeConf.getString("cai.cluster.tls.trust-store").startsWith(d.mountPath("tls") + "/"), d.name());
      assertEquals("/etc/cai/node.conf", args.get(args.indexOf("--config") + 1));
      assertEquals("/etc/cai/node.conf", d.mountPath("node-conf"));

      Path file = Files.writeString(dir.resolve("node.conf"), nodeConf(configMap));
      NodeSettings s = nodeSettings(withConfig(args, file));
      assertEquals(ClusterRole.parse(role), s.role());
      List<HostPort> seeds = new ArrayList<>();
      for (int i = 0; i < learnerReplicas; i++) {
        seeds.add(new HostPort("cai-learner-" + i + ".cai-seed." + namespace + ".svc.cluster.local", PORT));
      }
      assertEquals(seeds, s.seeds());

      // the pod's environment as Kubernetes expands it: $(POD_NAME) is the pod, the first one for the StatefulSet
      String podName = d.kind().equals("StatefulSet") ? d.name() + "-0" : d.name() + "-5d8f7c9b4-x2x7q";
      Map<String, String> env = new LinkedHashMap<>(Map.of("POD_NAME", podName, "POD_IP", "10.42.0.7"));
      d.env().forEach((k, v) -> env.put(k, v.replace("$(POD_NAME)", podName).replace("$(POD_IP)", "10.42.0.7")));
      Config node = load(s, nodeConf.resolveWith(ConfigFactory.parseMap(env)), dir);
      String advertised = node.getString("pekko.remote.artery.canonical.hostname");
      assertEquals(d.kind().equals("StatefulSet") ? seeds.get(0).host() : "10.42.0.7", advertised);
      assertEquals("10.42.0.7", node.getString("pekko.remote.artery.bind.hostname"));
      assertEquals("10.42.0.7", node.getString("pekko.management.http.bind-hostname"));
      assertEquals(PORT, node.getInt("pekko.remote.artery.canonical.port"));
      assertEquals(MANAGEMENT_PORT, node.getInt("pekko.management.http.port"));
    }
    Set<String> expected = new TreeSet<>();
    ClusterRole.nodeRoles().stream().filter(r -> r != ClusterRole.ALL).forEach(r -> expected.add(r.id()));
    assertEquals(expected, roles);
  }
}
