package dev.cai.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Test;

class DeviceSettingTest {
  @Test
  void shouldParseSettingsAndResolveAutoToTheAvailableDevice() {
    assertEquals(DeviceSetting.GPU, DeviceSetting.parse(" GPU "));
    assertEquals(Device.cpu(), DeviceSetting.CPU.resolve());
    Device auto = DeviceSetting.AUTO.resolve();
    assertEquals(Engine.getInstance().getGpuCount() > 0 ? Device.gpu() : Device.cpu(), auto);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSetting.parse("tpu"));
    assertEquals("Unknown device setting 'tpu': expected auto, cpu or gpu", e.getMessage());
  }
}
