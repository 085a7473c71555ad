package dev.cai.app;

import com.typesafe.config.Config;
import dev.cai.streams.PromptJournal;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The live inputs of a {@code --follow} run: with {@code --http}, the run's durable prompt journal
 * ({@code RUN_DIR/live-prompts.jsonl}) and the HTTP endpoint that appends to it. Closing stops the endpoint before
 * the journal it appends to.
 */
final class LiveInputs implements AutoCloseable {
  private final PromptJournal journal;
  private final PromptEndpoint endpoint;

  private LiveInputs(PromptJournal journal, PromptEndpoint endpoint) {
    this.journal = journal;
    this.endpoint = endpoint;
  }

  /** Opens the journal and starts the endpoint when {@code http}; reports both on {@code err}. */
  static LiveInputs open(ActorSystem<?> system, Path runDir, Config live, boolean http, PrintWriter err) throws Exception {
    if (!http) {
      return new LiveInputs(null, null);
    }
    PromptJournal journal = PromptJournal.inRun(runDir, live.getInt("max-pending"));
    try {
      if (journal.truncatedBytes() > 0) {
        err.printf("%s: cut away a partial last line (%d bytes, never acknowledged)%n", journal.file(), journal.truncatedBytes());
      }
      PromptEndpoint endpoint = PromptEndpoint.start(system, journal, PromptEndpoint.Settings.fromConfig(live.getConfig("http")));
      err.println(endpoint.describe());
      return new LiveInputs(journal, endpoint);
    } catch (Exception | Error e) {
      journal.close();
      throw e;
    }
  }

  Optional<PromptJournal> journal() {
    return Optional.ofNullable(journal);
  }

  @Override
  public void close() throws Exception {
    try {
      if (endpoint != null) {
        endpoint.close();
      }
    } finally {
      if (journal != null) {
        journal.close();
      }
    }
  }
}
