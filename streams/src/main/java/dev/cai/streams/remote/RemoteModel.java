package dev.cai.streams.remote;

import dev.cai.runtime.tokenizer.ChatTemplate;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model served by an OpenAI-compatible HTTP server (vLLM, llama.cpp's server, {@code cai serve}), written as the
 * model spec {@code openai:BASE_URL#MODEL[?api-key-env=VAR][&template=chatml|transcript]}, e.g.
 * {@code openai:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-7B-Instruct?api-key-env=VLLM_API_KEY}.
 *
 * <ul>
 *   <li>{@code BASE_URL}: the API root ending in {@code /v1} (http or https); requests go to
 *       {@code BASE_URL/chat/completions} and {@code BASE_URL/completions}.
 *   <li>{@code MODEL}: the {@code model} field of every request (the server's served model name); it may contain
 *       {@code /} and {@code :} but not {@code ?}, {@code &} or whitespace.
 *   <li>{@code api-key-env}: the environment variable holding the API key, sent as {@code Authorization: Bearer};
 *       without it the key comes from {@code CAI_REMOTE_API_KEY} when that is set, else no key is sent. The key itself
 *       never appears in a spec, a record or a log line.
 *   <li>{@code template}: the chat format used to write the labeling question that the feedback model continues
 *       through {@code /completions} (plain text, so the client renders it): {@code chatml} (default; SmolLM2, Qwen)
 *       or {@code transcript} (the paper's {@code Human:/Assistant:} format, for base models).
 * </ul>
 *
 * @param baseUrl API root without a trailing slash
 * @param model the served model name
 * @param apiKeyEnv the environment variable named by {@code api-key-env}
 * @param template the chat format of {@code template}
 */
public record RemoteModel(URI baseUrl, String model, Optional<String> apiKeyEnv, ChatTemplate.Format template) {
  /** The prefix that marks a remote model spec. */
  public static final String SCHEME = "openai:";
  /** The environment variable read for the API key when the spec names none. */
  public static final String DEFAULT_KEY_ENV = "CAI_REMOTE_API_KEY";
  /** The syntax, for error messages. */
  public static final String SYNTAX = "openai:http(s)://HOST[:PORT]/PATH#MODEL[?api-key-env=VAR][&template=chatml|transcript]";

  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern MODEL_NAME = Pattern.compile("[^\\s?&#]+");

  public RemoteModel {
    String scheme = baseUrl.getScheme();
    if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || baseUrl.getHost() == null) {
      throw new IllegalArgumentException("the base URL " + baseUrl + " must be http:// or https:// with a host");
    }
    if (baseUrl.getRawQuery() != null || baseUrl.getRawFragment() != null || baseUrl.getRawPath().endsWith("/")) {
      throw new IllegalArgumentException("the base URL " + baseUrl + " must have no query, no fragment and no trailing /");
    }
    if (model == null || !MODEL_NAME.matcher(model).matches()) {
      throw new IllegalArgumentException("the model name '" + model + "' must be non-empty, without whitespace, ?, & or #");
    }
    if (apiKeyEnv.isPresent() && !ENV_NAME.matcher(apiKeyEnv.get()).matches()) {
      throw new IllegalArgumentException("api-key-env '" + apiKeyEnv.get() + "' is not an environment variable name");
    }
    if (template == null) {
      throw new IllegalArgumentException("template is required");
    }
  }

  /** Whether {@code spec} is written as a remote model (starts with {@value #SCHEME}). */
  public static boolean isRemote(String spec) {
    return spec.startsWith(SCHEME);
  }

  /** Parses a spec written as {@link #SYNTAX}; a malformed one fails with a message that quotes it and the syntax. */
  public static RemoteModel parse(String spec) {
    try {
      return parseUnchecked(spec);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("model spec '" + spec + "': " + e.getMessage() + "; the syntax is " + SYNTAX, e);
    }
  }

  private static RemoteModel parseUnchecked(String spec) {
    if (!isRemote(spec)) {
      throw new IllegalArgumentException("a remote model spec starts with " + SCHEME);
    }
    String rest = spec.substring(SCHEME.length());
    int hash = rest.indexOf('#');
    if (hash < 0) {
      throw new IllegalArgumentException("no #MODEL after the base URL");
    }
    URI base;
    try {
      String url = rest.substring(0, hash);
      while (url.endsWith("/")) {
        url = url.substring(0, url.length() - 1); // "…/v1/" means "…/v1"
      }
      if (!url.startsWith("http://") && !url.startsWith("https://")) {
        throw new IllegalArgumentException("the base URL '" + url + "' must start with http:// or https://");
      }
      base = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("the base URL is not a URL: " + e.getMessage());
    }
    String fragment = rest.substring(hash + 1);
    int q = fragment.indexOf('?');
    String model = q < 0 ? fragment : fragment.substring(0, q);
    Map<String, String> params = new LinkedHashMap<>();
    if (q >= 0) {
      for (String kv : fragment.substring(q + 1).split("&", -1)) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("parameter '" + kv + "' is not KEY=VALUE");
        }
        String key = kv.substring(0, eq);
        if (!key.equals("api-key-env") && !key.equals("template")) {
          throw new IllegalArgumentException("unknown parameter '" + key + "' (known: api-key-env, template)");
        }
        if (params.put(key, kv.substring(eq + 1)) != null) {
          throw new IllegalArgumentException("parameter '" + key + "' is given twice");
        }
      }
    }
    ChatTemplate.Format template = switch (params.getOrDefault("template", "chatml").toLowerCase(Locale.ROOT)) {
      case "chatml" -> ChatTemplate.Format.CHATML;
      case "transcript" -> ChatTemplate.Format.TRANSCRIPT;
      default -> throw new IllegalArgumentException("template must be chatml or transcript, got '" + params.get("template") + "'");
    };
    return new RemoteModel(base, model, Optional.ofNullable(params.get("api-key-env")), template);
  }

  /** The spec this model is written as (parameters included, no secret in it). */
  public String spec() {
    StringBuilder sb = new StringBuilder(SCHEME).append(baseUrl).append('#').append(model);
    char sep = '?';
    if (apiKeyEnv.isPresent()) {
      sb.append(sep).append("api-key-env=").append(apiKeyEnv.get());
      sep = '&';
    }
    if (template != ChatTemplate.Format.CHATML) {
      sb.append(sep).append("template=").append(template.name().toLowerCase(Locale.ROOT));
    }
    return sb.toString();
  }

  /** The id recorded on examples and comparisons: {@code openai:BASE_URL#MODEL}. */
  public String id() {
    return SCHEME + baseUrl + "#" + model;
  }

  /** The chat template that writes the labeling questions for this model. */
  public ChatTemplate chatTemplate() {
    return template == ChatTemplate.Format.CHATML ? ChatTemplate.chatMl() : ChatTemplate.transcript();
  }

  /** The URI of an endpoint under the base URL, e.g. {@code completions}. */
  URI endpoint(String path) {
    return URI.create(baseUrl + "/" + path);
  }

  /**
   * The API key from {@code env}: the variable named by {@code api-key-env} (which must be set), else
   * {@value #DEFAULT_KEY_ENV} when set and non-empty, else none.
   */
  public Optional<String> apiKey(Map<String, String> env) {
    if (apiKeyEnv.isPresent()) {
      String key = env.get(apiKeyEnv.get());
      if (key == null || key.isEmpty()) {
        throw new IllegalArgumentException("model spec '" + spec() + "': the environment variable " + apiKeyEnv.get()
            + " named by api-key-env is not set");
      }
      return Optional.of(key);
    }
    return Optional.ofNullable(env.get(DEFAULT_KEY_ENV)).filter(k -> !k.isEmpty());
  }

  @Override
  public String toString() {
    return spec();
  }
}
