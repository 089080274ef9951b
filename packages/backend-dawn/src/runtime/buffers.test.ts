import { describe, expect, it } from 'vitest';
import { useDawn } from '../testing/harness.js';
import { BufferPool, MemoryMeter, sizeClass } from './buffers.js';
import { openDawnDevice } from './device.js';

describe('buffer pool', () => {
  const h = useDawn();

  it('size classes: 256-byte alignment, then ≤ 12.5% slack in 8 classes per octave', () => {
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(257)).toBe(512);
    expect(sizeClass(65536)).toBe(65536);
    for (const bytes of [65537, 100_000, 1_000_000, 3_333_333, 1.5e9]) {
      const c = sizeClass(bytes);
      expect(c).toBeGreaterThanOrEqual(bytes);
      expect(c / bytes).toBeLessThanOrEqual(1.125 + 1e-9);
    }
    expect(sizeClass(1_000_000, 1_000_192)).toBe(1_000_192); // never past the device limit
    // a decode step's growing KV prefix reuses a few classes, not one per step
    const classes = new Set(
      Array.from({ length: 512 }, (_, t) => sizeClass(64 * (16 + t) * 128 * 4)),
    );
    expect(classes.size).toBeLessThan(50); // vs 512 distinct sizes
  });

  it('GPU-written tensors reuse released buffers at once, uploads only after a submit; the meter counts every byte', async (ctx) => {
    h.dawn(ctx);
    const dev = await openDawnDevice();
    const meter = new MemoryMeter();
    const pool = new BufferPool(
      dev.device,
      dev.usage.storage | dev.usage.copyDst,
      300_000,
      undefined,
      meter,
    );
    const size = sizeClass(200_000);
    const a = pool.acquire(200_000);
    expect(meter.liveBytes).toBe(size);
    pool.release(a);
    const b = pool.acquire(200_000, true); // host-written: not a buffer unsubmitted work reads
    expect(b).not.toBe(a);
    expect(pool.acquire(199_000)).toBe(a); // GPU-written, same class: at once
    expect(meter.liveBytes).toBe(2 * size);
    pool.release(a);
    pool.submitted();
    expect(pool.freeBytes).toBe(size);
    expect(pool.acquire(200_000, true)).toBe(a); // settled: any use
    const c = pool.acquire(200_000);
    for (const x of [a, b, c]) pool.release(x);
    pool.submitted();
    expect(pool.freeBytes).toBe(size); // two exceeded the cap and were destroyed
    expect(meter.liveBytes).toBe(size);
    expect(meter.peakBytes).toBe(3 * size);
    meter.resetPeak();
    expect(meter.peakBytes).toBe(size);
    expect(pool.live).toBe(0);
    expect(() => pool.acquire(2 ** 52)).toThrow(/exceeds this device's largest storage buffer/);
    pool.destroy();
    dev.device.destroy();
  });
});
