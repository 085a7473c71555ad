package dev.cai.app;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs one {@code cai} command line in-process, as the command tests do, capturing its exit code and output. */
final class CaiCli {
  private CaiCli() {}

  /** Exit code, stdout and stderr of one command line. */
  record Result(int code, String out, String err) {}

  static Result cai(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }
}
