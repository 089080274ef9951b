import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configOnlyDir, runCli } from './run-cli.js';

const PROMPT = ['--prompt', 'What is 2+3?', '--effective-batch', '4', '--max-new-tokens', '16'];
const P = 494_032_768;

/** `oneshot-em train` of the model in `model` on PROMPT, with `flags`. */
const trainOn = (model: string, ...flags: string[]) =>
  runCli(['train', '--model', model, ...PROMPT, ...flags]);

describe('train --optimizer-on', () => {
  it('dawn: the plan moves the f32 master and AdamW m, v to the host (--dry-run --json, and the config key)', () => {
    const dir = configOnlyDir();
    const dawnPlan = ['--backend', 'dawn', '--dry-run', '--json'];
    const device = trainOn(dir, ...dawnPlan);
    expect(device.status, device.stderr).toBe(0);
    const host = trainOn(dir, ...dawnPlan, '--optimizer-on', 'host');
    expect(host.status, host.stderr).toBe(0);
    const d = JSON.parse(device.stdout);
    const h = JSON.parse(host.stdout);
    expect(d.optimizer_on ?? d.knobs.optimizer_on).toBe('device');
    expect(h.optimizer_on ?? h.knobs.optimizer_on).toBe('host');
    // m and v (8 B/param) leave the device; the host gains them
    expect(d.device_bytes - h.device_bytes).toBeGreaterThanOrEqual(8 * P);
    expect(h.host_bytes - d.host_bytes).toBe(8 * P);
    // the same from a config file's snake_case key
    const cfg = join(dir, '..', 'run.json');
    writeFileSync(cfg, JSON.stringify({ optimizer_on: 'host' }));
    const fromFile = trainOn(dir, ...dawnPlan, '--config', cfg);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout).device_bytes).toBe(h.device_bytes);
  });

  it('dawn: a plan that fits only with the optimizer on the host suggests --optimizer-on host', () => {
    const dir = configOnlyDir();
    const dawnPlan = ['--backend', 'dawn', '--dry-run', '--json'];
    const h = JSON.parse(trainOn(dir, ...dawnPlan, '--optimizer-on', 'host').stdout);
    // a device limit the offloaded plan meets and the default does not
    const limit = String(h.device_bytes + 1);
    const r = trainOn(dir, '--backend', 'dawn', '--device-memory', limit);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/optimizer_on device → host fits .*\[--optimizer-on host\]/);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
  });

  it('ort: --optimizer-on device is refused naming the flag, before loading', () => {
    const dir = configOnlyDir();
    const r = trainOn(dir, '--backend', 'ort', '--optimizer-on', 'device', '--dry-run');
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--optimizer-on device: the ort backend .* always runs on the host/);
    const bad = trainOn(dir, '--optimizer-on', 'gpu', '--dry-run');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/optimizer-on/);
  });

  it('--help lists the flag', () => {
    const r = runCli(['train', '--help']);
    expect(r.stdout).toMatch(/--optimizer-on/);
    expect(
      readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'README.md'), 'utf8'),
    ).toMatch(/--optimizer-on host/);
  });
});
