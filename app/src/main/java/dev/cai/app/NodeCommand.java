package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.actors.BatchingSettings;
import dev.cai.cluster.ClusterConfigs;
import dev.cai.cluster.ClusterNode;
import dev.cai.cluster.ClusterRole;
import dev.cai.cluster.HostPort;
import dev.cai.cluster.JoinWatchdog;
import dev.cai.cluster.ModelWorkers;
import dev.cai.cluster.NodeSettings;
import dev.cai.cluster.learner.LearnerHa;
import dev.cai.cluster.learner.LearnerHaSettings;
import dev.cai.cluster.learner.LearnerJob;
import dev.cai.cluster.weights.WeightReplica;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.streams.RlJob;
import dev.cai.streams.RlSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/** {@code cai node}: one member of a cai Pekko cluster with a role, running until SIGTERM or Ctrl-C. */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Start a cluster node with a role (policy, feedback, learner or all) that joins the seed nodes and "
        + "serves Pekko Management (/ready, /alive, /cluster/members) on 127.0.0.1. SIGTERM or Ctrl-C leaves the "
        + "cluster gracefully. A policy node serves generation, a feedback node AI-feedback scoring (and reasoning), all both: "
        + "drivers reach them with --model cluster:policy / --feedback-model cluster:feedback; with --rl-job, learner nodes run "
        + "that RL job as a cluster singleton with checkpoint shipping and failover (see README, Cluster).")
final class NodeCommand implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--role", required = true, paramLabel = "ROLE", description = "policy, feedback, learner or all.")
  String role;

  @Option(names = "--seed", required = true, paramLabel = "HOST:PORT",
      description = "Cluster port of a seed node (repeatable); the first node may name itself.")
  List<String> seeds;

  @Option(names = "--config", paramLabel = "FILE", description = "HOCON file layered over the role's configuration.")
  Path config;

  @Option(names = "--port", paramLabel = "N", description = "Cluster (Artery TCP) port (default: cai.cluster.port, 25520).")
  Integer port;

  @Option(names = "--management-port", paramLabel = "N",
      description = "Pekko Management HTTP port (default: cai.cluster.management-port, 8558).")
  Integer managementPort;

  @Option(names = "--model", paramLabel = "PATH",
      description = "GGUF file or model directory the workers of a policy/feedback/all node serve (default: the embedded "
          + "SmolLM2-135M-Instruct in models/).")
  Path model;

  @Option(names = "--device", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
      description = "Where the workers' models run (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--rollouts", description = "A policy node also serves PPO rollouts to a cluster RL run (cai rl "
      + "--policy-workers cluster): a policy actor with this node's cai.rl sampling settings, at version 0 the --model "
      + "(the run's SL checkpoint), later the versions the learner ships.")
  boolean rollouts;

  @Option(names = "--rl-job", paramLabel = "FILE",
      description = "Learner nodes: the RL job (HOCON rl-job block) to run as the cluster singleton on the oldest learner; "
          + "the others are standbys that receive its store checkpoints every cai.cluster.learner.ship-every updates.")
  Path rlJob;

  @Option(names = "--learner-dir", paramLabel = "DIR",
      description = "With --rl-job: this node's learner directory (store, received checkpoints, metrics, exported policy; "
          + "default: cai.cluster.learner.dir).")
  Path learnerDir;

  @Override
  public Integer call() throws Exception {
    NodeSettings settings = settings();
    Config conf = ClusterConfigs.load(settings);
    Optional<Learner> learner = learner(conf);
    Optional<ModelWorkers.Settings> workers = workerSettings(settings.role(), conf);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ClusterNode node = ClusterNode.start(conf);
    JoinWatchdog.start(node, conf, settings.seeds(), line -> {
      err.println(line);
      err.flush();
    });
    String served = "";
    if (workers.isPresent()) {
      ModelWorkers.Started started = ModelWorkers.start(node.system(), settings.role(), workers.get());
      // a policy that serves rollouts follows the learner's versions
      started.policy().ifPresent(p -> WeightReplica.start(node.system(), p, started.published()));
      served = " workers=" + String.join(",", ModelWorkers.workerRoles(settings.role())) + " model="
          + ModelFiles.modelId(workers.get().model());
    }
    // Printed inside coordinated shutdown: on SIGTERM the JVM halts when its shutdown hook (which runs coordinated
    // shutdown) ends, possibly before this thread would wake up from awaitTermination.
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(node.system());
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "cai-node-stopped", () -> {
      err.println("node " + node.address() + " stopped ("
          + shutdown.getShutdownReason().map(r -> r.getClass().getSimpleName().replace("$", "")).orElse("unknown reason")
          + ", member status " + node.memberStatus() + ")");
      err.flush();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    out.println("node " + node.address() + " role=" + settings.role().id() + " roles=" + String.join(",", node.roles())
        + " management=" + node.managementUrl() + " seeds=" + settings.seeds() + served);
    out.flush();
    learner.ifPresent(l -> LearnerHa.start(node.system(), l.job(), l.settings(), line -> {
      out.println("learner: " + line);
      out.flush();
    }));
    node.awaitTermination();
    return 0;
  }

  /** What the node's workers serve, read from the configuration; none for a learner node. */
  private Optional<ModelWorkers.Settings> workerSettings(ClusterRole role, Config conf) {
    if (rollouts && !ModelWorkers.workerRoles(role).contains("policy")) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--rollouts needs a node with the policy role");
    }
    if (ModelWorkers.workerRoles(role).isEmpty()) {
      return Optional.empty();
    }
    try {
      BatchingSettings batching = BatchingSettings.fromConfig(conf.getConfig("cai.batching"));
      return Optional.of(new ModelWorkers.Settings(model != null ? model : AppPaths.defaultModel(),
          DeviceSetting.parse(device), batching, conf.getDuration("cai.work.attempt-timeout"),
          rollouts ? Optional.of(RlJob.policySettings(RlSettings.fromConfig(conf.getConfig("cai.rl")), batching))
              : Optional.empty()));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  /** The RL job of {@code --rl-job} and the node's learner settings it runs with. */
  private record Learner(LearnerJob job, LearnerHaSettings settings) {}

  /** The RL job of {@code --rl-job}, checked before the node starts; a bad one is a usage error that names it. */
  private Optional<Learner> learner(Config conf) {
    if (rlJob == null) {
      if (learnerDir != null) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--learner-dir needs --rl-job");
      }
      return Optional.empty();
    }
    // the roles the node joins with, which the singleton's role is matched against
    List<String> roles = conf.getStringList("pekko.cluster.roles");
    if (!roles.contains(ClusterRole.LEARNER.id())) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--rl-job needs a node with the "
          + ClusterRole.LEARNER.id() + " role (--role learner or all), not one with roles " + roles);
    }
    try {
      LearnerHaSettings ha = LearnerHaSettings.fromConfig(conf);
      if (learnerDir != null) {
        ha = ha.withDir(learnerDir);
      }
      LearnerJob job = LearnerJob.load(rlJob, conf, ha.dir());
      job.checkShipEvery(ha);
      return Optional.of(new Learner(job, ha));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  /** The validated options; a bad value is a usage error that names it. */
  NodeSettings settings() {
    try {
      return new NodeSettings(ClusterRole.parse(role), seeds.stream().map(HostPort::parse).toList(),
          Optional.ofNullable(config), port == null ? OptionalInt.empty() : OptionalInt.of(port),
          managementPort == null ? OptionalInt.empty() : OptionalInt.of(managementPort));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }
}
