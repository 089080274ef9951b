/** The bench's JSON document and its readable table. */
import type { MatmulResult, VocabOpResult } from './kernels.js';
import type { EmStepResult, GenerationResult, TrainingResult, Workload } from './measure.js';
import { SCALE_PHASES, type ScaleResult } from './scale.js';
import type { TorchStep } from './torch-baseline.js';

export interface ModelRun {
  backend: string;
  /** the backend's self-description, e.g. `ort(cpu)` or `dawn(NVIDIA H100 · vulkan)` */
  device: string;
  model: string;
  params: number;
  workload: Workload;
  generation?: GenerationResult;
  training?: TrainingResult;
  em_step?: EmStepResult;
  /** the scale stage: build, step, save, reload, entropy pass with peak memory per phase */
  scale?: ScaleResult;
  /** the PyTorch CPU step on the same completions, and (loss/grad + optimizer) / torch */
  torch?: TorchStep;
  ratio_vs_torch?: number;
  /** decode tokens/s × weight bytes / memory bandwidth: the fraction of the batch-1 bound */
  decode_bandwidth_fraction?: number;
  /** peak resident set of this process so far (MiB) and live GPU buffers where reported */
  max_rss_mib: number;
  gpu_buffers: number | null;
  transfers: { uploads: number; reads: number; bytes_up: number; bytes_down: number };
  error?: string;
}

export interface KernelRun {
  backend: string;
  device: string;
  matmul: MatmulResult[];
  vocab_stats: VocabOpResult[];
  vocab_grad?: VocabOpResult[];
  /** host memory copy GB/s (read + write), the CPU backends' bandwidth without --bandwidth */
  host_copy_gbps?: number;
  error?: string;
}

export interface BenchReport {
  date: string;
  /** load_average: the 1-minute load when the run started (a shared machine skews timings) */
  host: { cpus: number; cpu: string; node: string; platform: string; load_average: number };
  argv: string[];
  runs: ModelRun[];
  kernels: KernelRun[];
}

const f = (x: number | undefined, digits = 1) =>
  x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(digits);
const ms = (s: number | undefined) => (s === undefined ? '—' : (s * 1000).toFixed(0));

function table(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(width[i])).join('  ');
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const gib = (b: number | null | undefined) =>
  b === null || b === undefined ? '—' : (b / 2 ** 30).toFixed(2);

/** The scale stage: seconds per phase, then peak RSS, bytes/param, the device peak and the plan. */
function formatScale(runs: ModelRun[]): string {
  const head = [
    'backend',
    'model',
    ...SCALE_PHASES.map((p) => `${p} s`),
    'peak RSS GiB',
    'B/param',
    'device GiB',
    'plan host GiB',
    'RSS/plan',
  ];
  const rows = runs.map((m) => {
    const s = m.scale as ScaleResult;
    return [
      m.device,
      m.model,
      ...SCALE_PHASES.map((p) => f(s.phases[p]?.seconds, 2)),
      gib(s.max_rss_bytes),
      f(s.bytes_per_param),
      gib(s.device_peak_bytes),
      gib(s.plan?.host_bytes),
      s.rss_over_plan === null ? '—' : s.rss_over_plan.toFixed(2),
    ];
  });
  return `scale stage\n${table(head, rows)}`;
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [
    `${r.date} · ${r.host.cpu} × ${r.host.cpus} (load ${r.host.load_average.toFixed(1)}) · node ${r.host.node}`,
    '',
  ];
  // the scale stage's runs have their own table below
  const measured = r.runs.filter((m) => !m.scale);
  if (measured.length > 0 || r.runs.length === 0)
    out.push(
      table(
        [
          'backend',
          'model',
          'prefill tok/s',
          'decode tok/s',
          'train tok/s',
          'step ms',
          'loss/grad',
          'optim',
          'ckpt',
          'torch ms',
          'ratio',
          'RSS MiB',
          'bufs',
        ],
        measured.map((m) => {
          const s = m.em_step?.metrics;
          return [
            m.device,
            m.model,
            f(m.generation?.prefill_tokens_per_s),
            f(m.generation?.decode_tokens_per_s),
            f(m.training?.train_tokens_per_s),
            ms(m.em_step?.update_seconds),
            ms(s?.['time/loss_grad']),
            ms(s?.['time/optimizer']),
            ms(m.em_step?.checkpoint_seconds),
            ms(m.torch?.update_s),
            m.ratio_vs_torch === undefined ? '—' : m.ratio_vs_torch.toFixed(2),
            f(m.max_rss_mib, 0),
            m.gpu_buffers === null ? '—' : String(m.gpu_buffers),
          ];
        }),
      ),
    );
  for (const m of r.runs) if (m.error) out.push(`${m.device} ${m.model}: ${m.error}`);
  const scaled = r.runs.filter((m) => m.scale);
  if (scaled.length > 0) out.push('', formatScale(scaled));
  for (const k of r.kernels) {
    out.push('', `kernels on ${k.device}${k.error ? `: ${k.error}` : ''}`);
    if (k.matmul.length > 0) {
      out.push(
        table(
          ['variant', 'M', 'K', 'N', 'ms', 'GFLOP/s', 'GB/s', 'of bandwidth'],
          k.matmul.map((x) => [
            x.variant ?? '—',
            String(x.m),
            String(x.k),
            String(x.n),
            (x.seconds * 1000).toFixed(2),
            f(x.gflops),
            f(x.gbps),
            x.bandwidth_fraction === null ? '—' : `${(100 * x.bandwidth_fraction).toFixed(1)}%`,
          ]),
        ),
      );
    }
    for (const [what, rows] of [
      ['vocab_stats', k.vocab_stats],
      ['vocab_grad', k.vocab_grad ?? []],
    ] as const) {
      if (rows.length === 0) continue;
      out.push(
        table(
          [what, 'N', 'V', 'ms', 'GB/s', 'of bandwidth'],
          rows.map((x) => [
            '',
            String(x.n),
            String(x.v),
            (x.seconds * 1000).toFixed(2),
            f(x.gbps, 2),
            x.bandwidth_fraction === null ? '—' : `${(100 * x.bandwidth_fraction).toFixed(0)}%`,
          ]),
        ),
      );
    }
  }
  out.push(
    '',
    'step ms = loss/grad + optimizer of the fastest measured trainer step on given completions (ckpt: the final',
    'checkpoint); ratio = step ms / the fastest PyTorch CPU step on the same shape and completions (torch ms).',
  );
  return out.join('\n');
}
