import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { assertRegularFile } from '../io/regular-file.js';

/**
 * Prompts from a JSONL or parquet file (the reference trainer reads column `problem` of a
 * parquet file). Errors name the file, the line (JSONL) or row (parquet, 1-based), the field
 * and what was expected.
 */

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** The prompt in `row`'s `field`; `where` is "file:line" or "file: row N". */
function promptOf(row: unknown, field: string, where: string): string {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new Error(
      `${where}: expected a JSON object with a field "${field}", got ${describe(row)}`,
    );
  }
  const r = row as Record<string, unknown>;
  if (!(field in r) || r[field] === undefined) {
    const keys = Object.keys(r);
    throw new Error(
      `${where}: field "${field}" is missing (the row has ${keys.length ? `fields ${keys.join(', ')}` : 'no fields'}; choose one with --field)`,
    );
  }
  const v = r[field];
  if (typeof v !== 'string')
    throw new Error(`${where}: field "${field}": expected a string, got ${describe(v)}`);
  if (v.length === 0)
    throw new Error(`${where}: field "${field}" is empty; expected a non-empty string`);
  return v;
}

export async function loadPrompts(file: string, field: string): Promise<string[]> {
  const ext = extname(file).toLowerCase();
  if (ext !== '.parquet' && ext !== '.jsonl' && ext !== '.json')
    throw new Error(`${file}: expected a .jsonl or .parquet file`);
  // a FIFO would block the read forever
  assertRegularFile(file, 'a prompts file (--data)');
  const prompts: string[] = [];
  if (ext === '.parquet') {
    let buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>;
    try {
      buffer = await asyncBufferFromFile(file);
    } catch (e) {
      throw new Error(`${file}: cannot open (${(e as Error).message})`);
    }
    let rows: unknown[];
    try {
      rows = await parquetReadObjects({ file: buffer, columns: [field] });
    } catch (e) {
      throw new Error(
        `${file}: not a readable parquet file with a column '${field}' (${(e as Error).message})`,
      );
    }
    for (const [i, row] of rows.entries())
      prompts.push(promptOf(row, field, `${file}: row ${i + 1}`));
  } else {
    const text = await readFile(file, 'utf8').catch((e: Error) => {
      throw new Error(`${file}: cannot read (${e.message})`);
    });
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
      }
      prompts.push(promptOf(row, field, `${file}:${i + 1}`));
    });
  }
  if (prompts.length === 0) throw new Error(`${file}: no rows`);
  return prompts;
}
