package dev.cai.streams;

import dev.cai.actors.BatchingSettings;
import dev.cai.persistence.RecordStore;
import dev.cai.runtime.constitution.ConstitutionLoader;
import dev.cai.runtime.generate.GenerationSettings;
import dev.cai.runtime.model.DeviceSetting;
import dev.cai.streams.remote.RemoteSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** Child-JVM entry of {@link SlCrashResumeIT}: runs an SL job, printing "committed N" after each commit. */
public final class SlJobMain {
  private SlJobMain() {}

  public static void main(String[] args) throws Exception {
    Path store = Path.of(args[0]);
    Path prompts = Path.of(args[1]);
    Path model = Path.of(args[2]);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "sl-child");
    try (RecordStore rs = RecordStore.open(store)) {
      SlJob.Config c = new SlJob.Config(ModelSpec.local(model), Optional.empty(), List.of(new PromptSource(prompts, false)),
          ConstitutionLoader.loadDefault(), GenerationSettings.sampling(6, 1.0, 0).withStopAtEos(false),
          new SlGraph.Settings(2, 4, 2, Duration.ofMillis(200), 7L, 0, false, false),
          new BatchingSettings(8, Duration.ofMillis(10), 64, Duration.ofMillis(200), Duration.ofSeconds(2)),
          DeviceSetting.CPU, Duration.ofMinutes(2), RemoteSettings.defaults());
      SlGraph.Summary s = SlJob.run(system, rs, c, p -> System.out.println("committed " + p.examples()))
          .toCompletableFuture().get(5, TimeUnit.MINUTES);
      System.out.println("done " + s.examples());
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
