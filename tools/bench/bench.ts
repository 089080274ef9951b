/**
 * tools/bench: model and kernel benchmarks per backend and device (README.md in this folder).
 *
 *   npx tsx tools/bench/bench.ts [--backend ort,dawn,reference] [--model stories260K,qwen2-25m]
 *     [--gpu] [--torch] [--json FILE] [--only generation,training,em-step,kernels,scale]
 *     [--gen-batch B] [--effective-batch N] [--micro-batch M] [--prompt-tokens P] [--new-tokens G]
 *     [--repeats R] [--bandwidth GB/s]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { type Backend, snakeCaseKeys, uploadWeights } from '@oneshot-em/core';
import { type BackendSpec, createBenchBackend, gpuBuffers, parseBackendSpec } from './backends.js';
import {
  benchMatmul,
  benchVocabGrad,
  benchVocabStats,
  DAWN_MATMUL_VARIANTS,
  CPU_MATMUL_SHAPES,
  CPU_VOCAB_SHAPES,
  GPU_MATMUL_SHAPES,
  GPU_VOCAB_SHAPES,
  hostCopyGBps,
} from './kernels.js';
import { measureEmStep, measureGeneration, measureTraining, type Workload } from './measure.js';
import { benchModel, isGpuOnly, MODEL_NAMES } from './models.js';
import { type BenchReport, formatReport, type KernelRun, type ModelRun } from './report.js';
import { benchPlan, deviceIsHost } from './plan.js';
import { measureScale } from './scale.js';
import { DEFAULT_PYTHON, runTorchStep } from './torch-baseline.js';
import { benchOptimizer, formatOptimizer, type OptimizerShapeRun } from './optimizer.js';

const PARTS = ['generation', 'training', 'em-step', 'kernels', 'scale', 'optimizer'] as const;
type Part = (typeof PARTS)[number];
/** what runs without --only: `scale` saves and reloads a checkpoint, so it is asked for by name */
const DEFAULT_PARTS: Part[] = ['generation', 'training', 'em-step', 'kernels'];

const USAGE = `usage: npx tsx tools/bench/bench.ts [options]
  --backend LIST        reference, ort, ort:cuda[:N], dawn, dawn:<adapter>  (default ort)
  --model LIST          ${MODEL_NAMES.join(', ')}  (default stories260K,qwen2-25m)
  --gpu                 allow the GPU-only shapes; GPU-sized kernel shapes and workloads
  --torch               also run the PyTorch CPU step (python3-torch) on the same completions
  --python PATH         the interpreter for --torch (default /usr/bin/python3)
  --only LIST           ${PARTS.join(', ')}  (default ${DEFAULT_PARTS.join(',')};
                        scale: build, one EM step, save, reload, entropy pass, peak memory; any
                        shape, without --gpu too); optimizer: the host AdamW/SGD in ns/param at
                        40M and 255M parameters (4.1 GB; with --torch, torch's foreach ones too)
  --threads T           optimizer: threads of our host optimizer and of torch's (default all cores)
  --no-save             scale: stop before the trainer's checkpoint (no save, reload or entropy)
  --dawn-options JSON   extra createDawnBackend options, e.g. '{"poolBytes":0}'
  --optimizer-on host|device  scale: where the trainer keeps the f32 master and AdamW state
                        (default: the backend's; host = ZeRO-offload, the 7B shape on Dawn)
  --json FILE           write the JSON report there
  --gen-batch B --effective-batch N --micro-batch M --prompt-tokens P --new-tokens G
  --repeats R           ops per kernel timing (default 4 on CPU, 20 with --gpu)
  --steps S             measured EM steps (default 3 on CPU, 1 with --gpu)
  --warmup W            EM steps before them, untimed (default 1; 0 times compilation too)
  --bandwidth GB/s      device memory bandwidth, for the kernel and decode fractions`;

function defaultWorkload(model: string, gpu: boolean, scale: boolean): Workload {
  // the scale stage on a CPU: one micro-batch of 2 completions × 64 new tokens (issue 12)
  if (scale && !gpu)
    return { genBatch: 1, effectiveBatch: 2, microBatch: 2, promptTokens: 16, newTokens: 64 };
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
  /** scale: run the trainer's checkpoint, the reload and the entropy pass */
  save: boolean;
  /** --dawn-options, passed to createDawnBackend as they are */
  dawnOptions: Record<string, unknown>;
  /** --optimizer-on (scale): the trainer's optimizerOn */
  optimizerOn?: 'host' | 'device';
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
  const backend = await createBenchBackend(spec, {
    requiredBufferBytes: embedBytes,
    dawn: o.dawnOptions,
  });
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
            ((run.generation.decode_tokens_per_s / wl.genBatch) *
              model.params *
              computeWeightBytes(o)) /
            (bandwidth * 1e9);
      }
      if (parts.has('training')) run.training = await measureTraining(backend, model, w, wl);
      run.gpu_buffers = gpuBuffers(backend);
      for (const t of w.values()) backend.dispose(t);
    }
    if (parts.has('em-step')) {
      run.em_step = await measureEmStep(backend, model, wl, o.steps, o.warmup);
      const plan = benchPlan(spec, model, wl, dawnPoolBytes(o), deviceIsHost(backend));
      const peak = process.resourceUsage().maxRSS * 1024;
      Object.assign(run.em_step, {
        peak_rss_bytes: peak,
        plan,
        rss_over_plan: peak / plan.host_bytes,
      });
      if (o.python) {
        run.torch = runTorchStep(model, wl, o.steps, o.python);
        run.ratio_vs_torch = run.em_step.update_seconds / run.torch.update_s;
      }
    }
  } catch (e) {
    run.error = (e as Error).message.split('\n')[0];
  } finally {
    run.transfers = transferCounts(backend);
    run.max_rss_mib = rssMiB();
    await backend.destroy();
  }
  return run;
}

/** The backend's transfer counters so far, as the report names them. */
function transferCounts(backend: Backend): ModelRun['transfers'] {
  const t = backend.transfers();
  return { uploads: t.uploads, reads: t.reads, bytes_up: t.bytesUp, bytes_down: t.bytesDown };
}

/** Bytes per weight that decode streams: the compute copy's (`--dawn-options '{"dtype":"bf16"}'`). */
const computeWeightBytes = (o: RunOptions) =>
  o.dawnOptions.dtype === 'bf16' || o.dawnOptions.dtype === 'f16' ? 2 : 4;

/** Dawn's pool size from --dawn-options, for the plan (undefined: the backend's default). */
const dawnPoolBytes = (o: RunOptions) =>
  typeof o.dawnOptions.poolBytes === 'number' ? o.dawnOptions.poolBytes : undefined;

/**
 * The scale stage in its own backend. `onProgress` gets the run after every phase (bench.ts
 * writes the JSON then: a stage killed by a time limit or for memory keeps its phases).
 */
async function runScale(
  spec: BackendSpec,
  modelName: string,
  wl: Workload,
  o: RunOptions,
  onProgress: (run: ModelRun) => void,
): Promise<ModelRun> {
  // No requiredBufferBytes: at these sizes the embedding outgrows a binding, and the Dawn
  // backend splits such tensors itself (issue 12 item 4)
  const backend = await createBenchBackend(spec, { dawn: o.dawnOptions });
  const run: ModelRun = {
    backend: spec.label,
    device: backend.name,
    model: modelName,
    params: 0,
    workload: wl,
    max_rss_mib: 0,
    gpu_buffers: null,
    transfers: { uploads: 0, reads: 0, bytes_up: 0, bytes_down: 0 },
  };
  const update = () => {
    run.transfers = transferCounts(backend);
    run.max_rss_mib = rssMiB();
    run.params = run.scale?.params ?? 0;
  };
  try {
    run.scale = await measureScale(backend, modelName, wl, {
      save: o.save,
      optimizerOn: o.optimizerOn,
      plan: (m) => benchPlan(spec, m, wl, dawnPoolBytes(o), deviceIsHost(backend), o.optimizerOn),
      progress: (r) => {
        run.scale = r;
        update();
        onProgress(run);
      },
    });
    if (run.scale.error) run.error = `${run.scale.failed_phase}: ${run.scale.error}`;
  } finally {
    update();
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
    const shapes = gpu ? GPU_MATMUL_SHAPES : CPU_MATMUL_SHAPES;
    if (spec.kind !== 'dawn') run.matmul = await benchMatmul(backend, shapes, repeats, bandwidth);
    // a host backend's bandwidth, unless given: this machine's memory copy
    const onHost =
      spec.kind === 'reference' || (spec.kind === 'ort' && !spec.device?.startsWith('cuda'));
    if (onHost) run.host_copy_gbps = hostCopyGBps();
    const bw = bandwidth ?? run.host_copy_gbps ?? null;
    run.vocab_stats = await benchVocabStats(backend, vocab, repeats, bw);
    for (const r of run.vocab_stats) console.error(`[bench] vocab_stats ${JSON.stringify(r)}`);
    run.vocab_grad = await benchVocabGrad(backend, vocab, repeats, bw);
    for (const r of run.vocab_grad) console.error(`[bench] vocab_grad ${JSON.stringify(r)}`);
    // Dawn: each matmul variant on a backend of its own (kernels.ts DAWN_MATMUL_VARIANTS)
    if (spec.kind === 'dawn')
      for (const v of DAWN_MATMUL_VARIANTS) {
        const fits = shapes.filter(v.applies);
        const vb = await createBenchBackend(spec, {
          requiredBufferBytes: maxBytes,
          dawn: v.options,
        }).catch((e: Error) => e);
        if (vb instanceof Error) {
          console.error(`[bench] matmul ${v.variant}: ${vb.message.split('\n')[0]}`);
          continue;
        }
        try {
          const rows = await benchMatmul(vb, fits, repeats, bandwidth, v);
          run.matmul.push(...rows);
          // one line per variant as it finishes: a stage killed by its time limit keeps these
          for (const r of rows) console.error(`[bench] matmul ${JSON.stringify(r)}`);
        } finally {
          await vb.destroy();
        }
      }
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
      'no-save': { type: 'boolean', default: false },
      threads: { type: 'string' },
      'dawn-options': { type: 'string' },
      'optimizer-on': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const specs = list(values.backend, 'ort').map(parseBackendSpec);
  const models = list(values.model, 'stories260K,qwen2-25m');
  const parts = new Set(list(values.only, DEFAULT_PARTS.join(',')) as Part[]);
  for (const p of parts)
    if (!PARTS.includes(p)) throw new Error(`--only ${p}: expected some of ${PARTS.join(', ')}`);
  // the scale stage is for any shape (it is how the 0.5B shape is checked on a CPU)
  const scaleOnly = parts.size === 1 && parts.has('scale');
  for (const m of models) {
    if (!MODEL_NAMES.includes(m))
      throw new Error(`--model ${m}: unknown; expected one of ${MODEL_NAMES.join(', ')}`);
    if (isGpuOnly(m) && !values.gpu && !scaleOnly)
      throw new Error(`--model ${m} is a GPU-only shape: add --gpu (or --only scale)`);
  }
  let dawnOptions: Record<string, unknown> = {};
  if (values['dawn-options'] !== undefined) {
    try {
      dawnOptions = JSON.parse(values['dawn-options']) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`--dawn-options: expected a JSON object (${(e as Error).message})`);
    }
    if (typeof dawnOptions !== 'object' || dawnOptions === null || Array.isArray(dawnOptions))
      throw new Error(`--dawn-options ${values['dawn-options']}: expected a JSON object`);
  }
  const optimizerOn = values['optimizer-on'];
  if (optimizerOn !== undefined && optimizerOn !== 'host' && optimizerOn !== 'device')
    throw new Error(`--optimizer-on ${optimizerOn}: expected host or device`);
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
    // snake_case keys, as every JSON file oneshot-em writes (the workload's fields included)
    if (values.json)
      writeFileSync(values.json, `${JSON.stringify(snakeCaseKeys(report), null, 2)}\n`);
  };
  if (parts.has('optimizer')) {
    // host only: no backend or model; 40M and 255M parameters (4.1 GB at 255M), torch likewise
    const optimizer: OptimizerShapeRun[] = benchOptimizer({
      threads: positive(values.threads, 'threads'),
      steps,
      python: values.torch ? (values.python ?? DEFAULT_PYTHON) : null,
    });
    (report as BenchReport & { optimizer?: OptimizerShapeRun[] }).optimizer = optimizer;
    console.log(formatOptimizer(optimizer));
    save();
    if (parts.size === 1) return;
  }
  for (const spec of specs) {
    // kernels first: they are short, and a run cut off by a time limit keeps them
    if (parts.has('kernels')) {
      console.error(`[bench] ${spec.label} · kernels`);
      report.kernels.push(await runKernels(spec, gpu, repeats, bandwidth));
      save();
    }
    for (const m of models) {
      const d = defaultWorkload(m, gpu, scaleOnly);
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
      const o: RunOptions = {
        parts,
        steps,
        warmup,
        python,
        bandwidth,
        save: !values['no-save'],
        dawnOptions,
        optimizerOn,
      };
      if (!scaleOnly) {
        report.runs.push(await runModel(spec, m, wl, o));
        save();
      }
      if (parts.has('scale')) {
        const at = report.runs.length;
        report.runs[at] = await runScale(spec, m, wl, o, (run) => {
          report.runs[at] = run;
          save();
        });
        save();
      }
    }
  }
  console.log(formatReport(report));
  save();
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
