package dev.cai.app;

import dev.cai.actors.BatchModel;
import dev.cai.actors.Completion;
import dev.cai.actors.GenerateRequest;
import dev.cai.actors.GenerationModel;
import dev.cai.actors.ModelLoading;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.generate.GenerationSettings;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai generate}: one answer from a model, through the same generation path the pipeline uses. */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = "Answer one prompt with a model (the model's chat template is applied).")
final class GenerateCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;
  @Mixin ModelOptions model;

  @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The human turn to answer.")
  String prompt;

  @Option(names = "--max-tokens", defaultValue = "200", description = "Most new tokens (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass (default: ${DEFAULT-VALUE}).")
  double topP;

  @Option(names = "--top-k", defaultValue = "0", description = "Sample among the k likeliest tokens, 0 = off (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--seed", defaultValue = "1", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--stats", description = "Print token counts and speed to stderr.")
  boolean stats;

  @Override
  public Integer call() {
    GenerationSettings settings = new GenerationSettings(maxTokens, temperature, topP, topK, seed, true, List.of());
    try (GenerationModel m = ModelLoading.generation(model.modelPath(), model.deviceSetting())) {
      long t0 = System.nanoTime();
      BatchModel.Outcome<Completion> out = m.run(List.of(new GenerateRequest(Transcript.ofHuman(prompt), settings))).get(0);
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (!out.isOk()) {
        throw new IllegalArgumentException(out.error());
      }
      spec.commandLine().getOut().println(out.value().text());
      if (stats) {
        Completion c = out.value();
        spec.commandLine().getErr().printf("%d prompt + %d new tokens in %.2f s (%.1f new tokens/s)%s%n", c.promptTokens(),
            c.completionTokens(), seconds, c.completionTokens() / seconds, c.endedWithEos() ? "" : ", stopped at max-tokens");
      }
    }
    return 0;
  }
}
