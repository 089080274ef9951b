import { describe, expect, it } from 'vitest';
import { useDawn } from '../testing/harness.js';
import { BufferPool, sizeClass } from './buffers.js';
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

  it('reuses released buffers only after a submit, and destroys beyond the free cap', async (ctx) => {
    h.dawn(ctx);
    const dev = await openDawnDevice();
    const pool = new BufferPool(dev.device, dev.usage.storage | dev.usage.copyDst, 300_000);
    const a = pool.acquire(200_000);
    pool.release(a);
    expect(pool.acquire(200_000)).not.toBe(a); // not yet submitted
    pool.submitted();
    expect(pool.freeBytes).toBe(sizeClass(200_000));
    expect(pool.acquire(199_000)).toBe(a); // same class
    const big = [pool.acquire(200_000), pool.acquire(200_000)];
    for (const b of big) pool.release(b);
    pool.submitted();
    expect(pool.freeBytes).toBe(sizeClass(200_000)); // the second exceeded the cap
    expect(pool.live).toBe(2);
    expect(() => pool.acquire(2 ** 52)).toThrow(/exceeds this device's largest storage buffer/);
    pool.destroy();
    dev.device.destroy();
  });
});
