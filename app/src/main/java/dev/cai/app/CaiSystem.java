package dev.cai.app;

import com.typesafe.config.Config;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** Runs a command's work inside an actor system that is always terminated (stopping actors, closing models). */
final class CaiSystem {
  private CaiSystem() {}

  /** What a command does with the system. */
  @FunctionalInterface
  interface Work<T> {
    T run(ActorSystem<Void> system) throws Exception;
  }

  static <T> T with(Config conf, Work<T> work) throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "cai", conf);
    try {
      return work.run(system);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  /** The option when given, else the configured default. */
  static <T> T or(T option, T fallback) {
    return option != null ? option : fallback;
  }
}
