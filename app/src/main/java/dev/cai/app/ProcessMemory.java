package dev.cai.app;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's resident set size from {@code /proc/self/status}: the Java heap plus native memory (PyTorch, RocksDB). */
final class ProcessMemory {
  private static final Path STATUS = Path.of("/proc/self/status");

  private ProcessMemory() {}

  /** Resident bytes now, or -1 where {@code /proc} is not available (not Linux). */
  static long residentBytes() {
    try {
      return vmRssBytes(Files.readString(STATUS, StandardCharsets.US_ASCII));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The {@code VmRSS:} line of a {@code /proc/PID/status} text in bytes, or -1 when it has none. */
  static long vmRssBytes(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("VmRSS:")) {
        String[] parts = line.substring(6).trim().split("\\s+");
        long value = Long.parseLong(parts[0]);
        return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? value * 1024 : value;
      }
    }
    return -1;
  }
}
