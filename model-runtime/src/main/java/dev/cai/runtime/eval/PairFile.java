package dev.cai.runtime.eval;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.cai.runtime.constitution.Transcript;
import dev.cai.runtime.constitution.Transcript.Speaker;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Human comparisons in the hh-rlhf format ({@code {"chosen": transcript, "rejected": transcript}} JSONL, optionally
 * gzipped): the shared conversation and the two final assistant replies.
 */
public final class PairFile {
  private PairFile() {}

  /** One comparison: the conversation before the final reply, and the preferred and the other reply. */
  public record LabeledPair(Transcript conversation, String chosen, String rejected) {}

  /** The first {@code limit} usable pairs (0 = all); pairs whose conversations differ are skipped, bad lines fail. */
  public static List<LabeledPair> read(Path file, int limit) {
    List<LabeledPair> out = new ArrayList<>();
    try (InputStream raw = Files.newInputStream(file);
         InputStream in = file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
         BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      int n = 0;
      while ((line = r.readLine()) != null && (limit == 0 || out.size() < limit)) {
        n++;
        if (line.isBlank()) {
          continue;
        }
        try {
          JsonObject o = JsonParser.parseString(line).getAsJsonObject();
          Transcript c = Transcript.parse(o.get("chosen").getAsString());
          Transcript j = Transcript.parse(o.get("rejected").getAsString());
          if (c.turns().size() < 2 || j.turns().size() < 2) {
            throw new IllegalArgumentException("a transcript needs a human turn and a final assistant reply");
          }
          Transcript context = new Transcript(c.turns().subList(0, c.turns().size() - 1));
          Transcript.Turn lastC = c.turns().get(c.turns().size() - 1);
          Transcript.Turn lastJ = j.turns().get(j.turns().size() - 1);
          if (lastC.speaker() != Speaker.ASSISTANT || lastJ.speaker() != Speaker.ASSISTANT
              || !context.equals(new Transcript(j.turns().subList(0, j.turns().size() - 1)))
              || lastC.text().isBlank() || lastJ.text().isBlank()) {
            continue; // not a same-conversation comparison of two replies
          }
          out.add(new LabeledPair(context, lastC.text(), lastJ.text()));
        } catch (JsonParseException | IllegalStateException | NullPointerException | IllegalArgumentException e) {
          throw new IllegalArgumentException(file + ":" + n + ": not an hh-rlhf comparison (" + e.getMessage() + ")", e);
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(file + ": no usable comparisons");
    }
    return out;
  }
}
