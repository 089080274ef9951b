import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseTrainOptions } from '@oneshot-em/core';
import { EXIT_USAGE, exitCodeFor } from '../exit-codes.js';
import { buildProgram } from '../program.js';
import { configChanges, recordedOptions } from '../run-config.js';

/**
 * Flags and values renamed in 0.1 (docs/architecture.md#glossary) still work for one release,
 * each with one deprecation line on stderr; the new spelling wins nothing silently.
 */
async function run(args: string[]): Promise<{ error?: Error; stdout: string; warnings: string[] }> {
  const program = buildProgram();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const c of program.commands) c.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  const warnings: string[] = [];
  vi.spyOn(console, 'warn').mockImplementation((m: string) => void warnings.push(m));
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'oneshot-em', ...args]);
    return { stdout, warnings };
  } catch (error) {
    return { error: error as Error, stdout, warnings };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('renamed flags', () => {
  it('entropy --temperature is --loss-temperature, with a deprecation line; --mask reference is paper', async () => {
    const r = await run([
      'entropy',
      '--backend',
      'reference',
      '--temperature',
      '0.7',
      '--mask',
      'reference',
      '--max-new-tokens',
      '4',
      '--json',
    ]);
    expect(r.error).toBeUndefined();
    const out = JSON.parse(r.stdout);
    expect(out.loss_temperature).toBe(0.7);
    expect(out.mask).toBe('paper');
    expect(out.mean_entropy).toBeGreaterThan(0);
    // the mask parses with the flags, the renamed flag resolves in the action
    expect(r.warnings).toEqual([
      expect.stringMatching(/^oneshot-em: mask convention 'reference' is deprecated, use 'paper'/),
      expect.stringMatching(
        /^oneshot-em: --temperature is deprecated, use --loss-temperature \(.*sampling temperature.*\); the old name is accepted until 0\.2$/,
      ),
    ]);
  });

  it("the old flag goes through the new one's validation and names it", async () => {
    const r = await run(['compare', '--base', 'a', '--trained', 'b', '--temperature', '-2']);
    expect(r.error?.message).toContain('--loss-temperature: expected a number > 0, got -2');
    expect(exitCodeFor(r.error)).toBe(EXIT_USAGE);
  });

  it('old and new spelling together is a usage error', async () => {
    const r = await run(['entropy', '--temperature', '1', '--loss-temperature', '0.5']);
    expect(r.error?.message).toBe(
      '--temperature and --loss-temperature name the same setting here; give only --loss-temperature',
    );
    expect(exitCodeFor(r.error)).toBe(EXIT_USAGE);
  });

  it('an unknown mask convention names the choices', async () => {
    const r = await run(['entropy', '--mask', 'sideways']);
    expect(r.error?.message).toContain("--mask: expected paper or shifted, got 'sideways'");
    expect(exitCodeFor(r.error)).toBe(EXIT_USAGE);
  });

  it('help shows the new names only', () => {
    const entropy = buildProgram().commands.find((c) => c.name() === 'entropy');
    const help = entropy?.helpInformation() ?? '';
    expect(help).toContain('--loss-temperature');
    expect(help).not.toMatch(/--temperature\b/);
    expect(help).toContain('paper');
  });

  it('a run recorded with mask: reference resumes as paper, not as a changed option', () => {
    const opts = parseTrainOptions({}, {});
    const options = { ...recordedOptions(opts), mask: 'reference' };
    expect(configChanges({ file: 'run_config.yaml', options, identity: {} }, opts, {})).toEqual([]);
    const shifted = parseTrainOptions({}, { mask: 'shifted' });
    expect(configChanges({ file: 'run_config.yaml', options, identity: {} }, shifted, {})).toEqual([
      'mask: "paper" → "shifted"',
    ]);
  });
});
