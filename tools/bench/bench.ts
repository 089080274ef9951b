/**
 * tools/bench: model and kernel benchmarks per backend and device (README.md in this folder).
 *
 *   npx tsx tools/bench/bench.ts [--backend ort,dawn,reference] [--model stories260K,qwen2-25m]
 *     [--gpu] [--torch] [--json FILE] [--only generation,training,em-step,kernels]
 *     [--gen-batch B] [--effective-batch N] [--micro-batch M] [--prompt-tokens P] [--new-tokens G]
 *     [--repeats R] [--bandwidth GB/s]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { uploadWeights } from '@oneshot-em/core';
import { type BackendSpec, createBenchBackend, gpuBuffers, parseBackendSpec } from './backends.js';
import {
  benchMatmul,
  benchVocabStats,
  CPU_MATMUL_SHAPES,
  CPU_VOCAB_SHAPES,
  GPU_MATMUL_SHAPES,
  GPU_VOCAB_SHAPES,
} from './kernels.js';
import { measureEmStep, measureGeneration, measureTraining, type Workload } from './measure.js';
import { benchModel, isGpuOnly, MODEL_NAMES } from './models.js';
import { type BenchReport, formatReport, type KernelRun, type ModelRun } from './report.js';
import { DEFAULT_PYTHON, runTorchStep } from './torch-baseline.js';

const PARTS = ['generation', 'training', 'em-step', 'kernels'] as const;
type Part = (typeof PARTS)[number];

const USAGE = `usage: npx tsx tools/bench/bench.ts [options]
  --backend LIST        reference, ort, ort:cuda[:N], dawn, dawn:<adapter>  (default ort)
  --model LIST          ${MODEL_NAMES.join(', ')}  (default stories260K,qwen2-25m)
  --gpu                 allow the GPU-only shapes; GPU-sized kernel shapes and workloads
  --torch               also run the PyTorch CPU step (python3-torch) on the same completions
  --python PATH         the interpreter for --torch (default /usr/bin/python3)
  --only LIST           ${PARTS.join(', ')}  (default all)
  --json FILE           write the JSON report there
  --gen-batch B --effective-batch N --micro-batch M --prompt-tokens P --new-tokens G
  --repeats R           ops per kernel timing (default 4 on CPU, 20 with --gpu)
  --steps S             measured EM steps (default 3 on CPU, 1 with --gpu)
  --warmup W            EM steps before them, untimed (default 1; 0 times compilation too)
  --bandwidth GB/s      device memory bandwidth, for the kernel and decode fractions`;

function defaultWorkload(model: string, gpu: boolean): Workload {
  if (!gpu)
    return { genBatch: 4, effectiveBatch: 4, microBatch: 4, promptTokens: 16, newTokens: 32 };
  // batch-1 decode against the bandwidth bound; the paper's step is 64 × 512 in micro-batches
  if (model.startsWith('qwen2.5'))
    return { genBatch: 1, effectiveBatch: 64, microBatch: 4, promptTokens: 64, newTokens: 512 };
  return { genBatch: 8, effectiveBatch: 16, microBatch: 8, promptTokens: 64, newTokens: 256 };
}

function list(v: string | undefined, fallback: string): string[] {
  return (v ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function positive(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--${flag} ${v}: expected a positive number`);
  return n;
}

const rssMiB = () => process.resourceUsage().maxRSS / 1024;

interface RunOptions {
  parts: Set<Part>;
  /** measured EM steps, and untimed ones before them */
  steps: number;
  warmup: number;
  /** the interpreter of the PyTorch baseline, or null to skip it */
  python: string | null;
  bandwidth: number | null;
}

async function runModel(
  spec: BackendSpec,
  modelName: string,
  wl: Workload,
  o: RunOptions,
): Promise<ModelRun> {
  const { parts, bandwidth } = o;
  const model = benchModel(modelName);
  const embedBytes = model.config.vocabSize * model.config.hiddenSize * 4;
  const backend = await createBenchBackend(spec, { requiredBufferBytes: embedBytes });
  const run: ModelRun = {
    backend: spec.label,
    device: backend.name,
    model: modelName,
    params: model.params,
    workload: wl,
    max_rss_mib: 0,
    gpu_buffers: null,
    transfers: { uploads: 0, reads: 0, bytes_up: 0, bytes_down: 0 },
  };
  try {
    if (parts.has('generation') || parts.has('training')) {
      const w = uploadWeights(backend, model.config, model.weights);
      if (parts.has('generation')) {
        run.generation = await measureGeneration(backend, model, w, wl);
        if (bandwidth)
          run.decode_bandwidth_fraction =
            ((run.generation.decode_tokens_per_s / wl.genBatch) * model.params * 4) /
            (bandwidth * 1e9);
      }
      if (parts.has('training')) run.training = await measureTraining(backend, model, w, wl);
      run.gpu_buffers = gpuBuffers(backend);
      for (const t of w.values()) backend.dispose(t);
    }
    if (parts.has('em-step')) {
      run.em_step = await measureEmStep(backend, model, wl, o.steps, o.warmup);
      if (o.python) {
        run.torch = runTorchStep(model, wl, o.steps, o.python);
        run.ratio_vs_torch = run.em_step.update_seconds / run.torch.update_s;
      }
    }
  } catch (e) {
    run.error = (e as Error).message.split('\n')[0];
  } finally {
    const t = backend.transfers();
    run.transfers = {
      uploads: t.uploads,
      reads: t.reads,
      bytes_up: t.bytesUp,
      bytes_down: t.bytesDown,
    };
    run.max_rss_mib = rssMiB();
    await backend.destroy();
  }
  return run;
}

async function runKernels(
  spec: BackendSpec,
  gpu: boolean,
  repeats: number,
  bandwidth: number | null,
): Promise<KernelRun> {
  const vocab = gpu ? GPU_VOCAB_SHAPES : CPU_VOCAB_SHAPES;
  const maxBytes = Math.max(
    ...vocab.map((s) => s.n * s.v * 4),
    ...(gpu ? GPU_MATMUL_SHAPES : CPU_MATMUL_SHAPES).map((s) => Math.max(s.m * s.n, s.n * s.k) * 4),
  );
  const backend = await createBenchBackend(spec, { requiredBufferBytes: maxBytes });
  const run: KernelRun = { backend: spec.label, device: backend.name, matmul: [], vocab_stats: [] };
  try {
    run.matmul = await benchMatmul(backend, gpu ? GPU_MATMUL_SHAPES : CPU_MATMUL_SHAPES, repeats);
    run.vocab_stats = await benchVocabStats(backend, vocab, repeats, bandwidth);
  } catch (e) {
    run.error = (e as Error).message.split('\n')[0];
  } finally {
    await backend.destroy();
  }
  return run;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' },
      model: { type: 'string' },
      gpu: { type: 'boolean', default: false },
      torch: { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'string' },
      'gen-batch': { type: 'string' },
      'effective-batch': { type: 'string' },
      'micro-batch': { type: 'string' },
      'prompt-tokens': { type: 'string' },
      'new-tokens': { type: 'string' },
      repeats: { type: 'string' },
      bandwidth: { type: 'string' },
      python: { type: 'string' },
      steps: { type: 'string' },
      warmup: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const specs = list(values.backend, 'ort').map(parseBackendSpec);
  const models = list(values.model, 'stories260K,qwen2-25m');
  for (const m of models) {
    if (!MODEL_NAMES.includes(m))
      throw new Error(`--model ${m}: unknown; expected one of ${MODEL_NAMES.join(', ')}`);
    if (isGpuOnly(m) && !values.gpu) throw new Error(`--model ${m} is a GPU-only shape: add --gpu`);
  }
  const parts = new Set(list(values.only, PARTS.join(',')) as Part[]);
  for (const p of parts)
    if (!PARTS.includes(p)) throw new Error(`--only ${p}: expected some of ${PARTS.join(', ')}`);
  const gpu = values.gpu ?? false;
  const repeats = positive(values.repeats, 'repeats') ?? (gpu ? 20 : 4);
  const bandwidth = positive(values.bandwidth, 'bandwidth') ?? null;
  const steps = positive(values.steps, 'steps') ?? (gpu ? 1 : 3);
  const warmup = values.warmup === undefined ? 1 : Number(values.warmup);
  if (!Number.isInteger(warmup) || warmup < 0)
    throw new Error(`--warmup ${values.warmup}: expected 0, 1, 2, …`);
  const report: BenchReport = {
    date: new Date().toISOString(),
    host: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      load_average: loadavg()[0],
    },
    argv: process.argv.slice(2),
    runs: [],
    kernels: [],
  };
  const save = () => {
    if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  };
  for (const spec of specs) {
    // kernels first: they are short, and a run cut off by a time limit keeps them
    if (parts.has('kernels')) {
      console.error(`[bench] ${spec.label} · kernels`);
      report.kernels.push(await runKernels(spec, gpu, repeats, bandwidth));
      save();
    }
    for (const m of models) {
      const d = defaultWorkload(m, gpu);
      const wl: Workload = {
        genBatch: positive(values['gen-batch'], 'gen-batch') ?? d.genBatch,
        effectiveBatch: positive(values['effective-batch'], 'effective-batch') ?? d.effectiveBatch,
        microBatch: positive(values['micro-batch'], 'micro-batch') ?? d.microBatch,
        promptTokens: positive(values['prompt-tokens'], 'prompt-tokens') ?? d.promptTokens,
        newTokens: positive(values['new-tokens'], 'new-tokens') ?? d.newTokens,
      };
      if (wl.effectiveBatch % wl.microBatch !== 0)
        throw new Error(
          `--effective-batch ${wl.effectiveBatch} is not a multiple of --micro-batch ${wl.microBatch}`,
        );
      console.error(`[bench] ${spec.label} · ${m} · ${JSON.stringify(wl)}`);
      const python = values.torch ? (values.python ?? DEFAULT_PYTHON) : null;
      report.runs.push(await runModel(spec, m, wl, { parts, steps, warmup, python, bandwidth }));
      save();
    }
  }
  console.log(formatReport(report));
  save();
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
