import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';

/**
 * Prompts from a JSONL or parquet file (the reference trainer reads column `problem` of a
 * parquet file). Errors name the file, the line or row, and the field.
 */
export async function loadPrompts(file: string, field: string): Promise<string[]> {
  const ext = extname(file).toLowerCase();
  let rows: Record<string, unknown>[];
  if (ext === '.parquet') {
    let buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>;
    try {
      buffer = await asyncBufferFromFile(file);
    } catch (e) {
      throw new Error(`${file}: cannot open (${(e as Error).message})`);
    }
    try {
      rows = (await parquetReadObjects({ file: buffer, columns: [field] })) as Record<
        string,
        unknown
      >[];
    } catch (e) {
      throw new Error(
        `${file}: not a readable parquet file with a column '${field}' (${(e as Error).message})`,
      );
    }
  } else if (ext === '.jsonl' || ext === '.json') {
    const text = await readFile(file, 'utf8').catch((e: Error) => {
      throw new Error(`${file}: cannot read (${e.message})`);
    });
    rows = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        rows.push(JSON.parse(line));
      } catch {
        throw new Error(`${file}:${i + 1}: not valid JSON`);
      }
    });
  } else {
    throw new Error(`${file}: expected a .jsonl or .parquet file`);
  }
  if (rows.length === 0) throw new Error(`${file}: no rows`);
  return rows.map((r, i) => {
    const v = r[field];
    if (typeof v !== 'string' || v.length === 0) {
      throw new Error(`${file}: row ${i + 1}: field '${field}' must be a non-empty string`);
    }
    return v;
  });
}
