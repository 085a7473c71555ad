package dev.cai.app;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code cai} command line. */
@Command(
    name = "cai",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Constitutional AI on the JVM: critique/revision SL-CAI, AI feedback, preference models and online PPO.",
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command tree; tests execute it in-process. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    Commands.register(cl);
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      cmd.getErr().println(cmd.getColorScheme().errorText("error: " + Errors.describe(e)));
      if (Boolean.getBoolean("cai.debug")) {
        e.printStackTrace(cmd.getErr());
      }
      return 1;
    });
    return cl;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Version from the jar manifest, or "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"cai " + (v == null ? "dev" : v)};
    }
  }
}
