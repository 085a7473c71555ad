package dev.cai.app;

import picocli.CommandLine;

/** The command tree of {@code cai}: one place that lists every command. */
final class Commands {
  private Commands() {}

  static void register(CommandLine root) {
    root.addSubcommand(new ModelCommand());
    root.addSubcommand(new GenerateCommand());
    root.addSubcommand(new ServeCommand());
    root.addSubcommand(new SlCommand());
    root.addSubcommand(new LabelCommand());
    root.addSubcommand(new PmCommand());
    root.addSubcommand(new RlCommand());
    root.addSubcommand(new BenchCommand());
    root.addSubcommand(new RunCommand());
    root.addSubcommand(new EvalCommand());
    root.addSubcommand(new ReportCommand());
    root.addSubcommand(new DemoCommand());
    root.addSubcommand(new NodeCommand());
  }
}
