package dev.cai.app;

import com.google.gson.JsonObject;

/**
 * An HTTP error of the OpenAI-compatible API ({@code cai serve}), answered as OpenAI does:
 * {@code {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}}.
 */
final class ApiError extends RuntimeException {
  /** OpenAI's type of a request the client must change. */
  static final String INVALID_REQUEST = "invalid_request_error";

  private final int status;
  private final String type;
  private final String param;
  private final String code;

  ApiError(int status, String message, String type, String param, String code) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
  }

  /** 400: {@code param} (nullable) has a value the API does not accept. */
  static ApiError invalid(String param, String message) {
    return new ApiError(400, message, INVALID_REQUEST, param, null);
  }

  int status() {
    return status;
  }

  /** The error object as the body of the response. */
  JsonObject body() {
    JsonObject e = new JsonObject();
    e.addProperty("message", getMessage());
    e.addProperty("type", type);
    e.addProperty("param", param);
    e.addProperty("code", code);
    JsonObject o = new JsonObject();
    o.add("error", e);
    return o;
  }
}
