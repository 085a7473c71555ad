package dev.cai.runtime.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;

/** Where the model runs: {@code AUTO} picks the first CUDA device DJL finds and falls back to the CPU. */
public enum DeviceSetting {
  AUTO,
  CPU,
  GPU;

  /** The DJL device for this setting; {@code GPU} fails clearly when DJL finds no CUDA device. */
  public Device resolve() {
    return switch (this) {
      case CPU -> Device.cpu();
      case AUTO -> Engine.getInstance().getGpuCount() > 0 ? Device.gpu() : Device.cpu();
      case GPU -> {
        if (Engine.getInstance().getGpuCount() == 0) {
          throw new IllegalStateException("Device setting 'gpu' was requested but DJL ("
              + Engine.getInstance().getEngineName() + ") finds no CUDA device");
        }
        yield Device.gpu();
      }
    };
  }

  /** Parses {@code auto}, {@code cpu} or {@code gpu} (case-insensitive). */
  public static DeviceSetting parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("Unknown device setting '" + text + "': expected auto, cpu or gpu", e);
    }
  }
}
