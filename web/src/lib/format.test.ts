import { describe, expect, it } from "vitest";
import { formatBytes, formatCount, formatDuration, formatMs, formatPercent, formatRate } from "./format";

describe("format", () => {
  it("bytes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(91_607_178)).toBe("91.6 MB");
    expect(formatBytes(256_000_000_000)).toBe("256 GB");
    expect(formatBytes(null)).toBe("—");
  });

  it("durations", () => {
    expect(formatDuration(0.25)).toBe("0.3 s");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(125)).toBe("2 min 5 s");
    expect(formatDuration(3 * 3600 + 60)).toBe("3 h 1 min");
    expect(formatDuration(50 * 3600)).toBe("2 d 2 h");
    expect(formatDuration(undefined)).toBe("—");
  });

  it("rates, latencies, counts and percentages", () => {
    expect(formatRate(0)).toBe("0.00");
    expect(formatRate(12.345)).toBe("12.3");
    expect(formatRate(1234.5)).toBe("1235");
    expect(formatMs(4.12)).toBe("4.1 ms");
    expect(formatMs(250.4)).toBe("250 ms");
    expect(formatMs(null)).toBe("—");
    expect(formatCount(22_713_216)).toBe("22.7 M");
    expect(formatCount(512)).toBe("512");
    expect(formatPercent(42.4)).toBe("42 %");
  });
});
