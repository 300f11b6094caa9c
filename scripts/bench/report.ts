// Medians, ratios against the goals, and the two outputs: a table for people, JSON for machines
// (exactly {"results":[{"scenario","tool","uplinkBytes","seconds"}],"ratios":{...}}).
import type { Sample, ScenarioName } from './scenarios';
import type { LspFigures } from './lsp';
import { TOOLS } from './tools';

export interface ResultRow {
  scenario: string;
  tool: string;
  uplinkBytes: number | null;
  seconds: number | null;
}

export interface Facts {
  /** Uncompressed bytes of the full push's image. */
  fullImageBytes: number;
  /** The throttled uplink, bytes/s. */
  uplinkBytesPerSecond: number;
}

type Goal = { max: number } | { min: number };

// Goals of the push issues: the engine uploader's (issue 10) for `layerlift` (auto), Layerlift's
// own uploader's (issue 11) for `layerlift-own`.
const GOALS: Record<string, Goal> = {
  firstPushBytesVsLimit: { max: 1.1 },
  firstPushTimeVsDocker: { max: 0.05 },
  firstPushTimeVsLimit: { max: 1.5 },
  fullPushThroughputVsDocker: { min: 0.95 },
  fullPushThroughputVsSkopeo: { min: 1 },
  fullPushOwnThroughputVsDocker: { min: 0.9 },
  ociPushThroughputVsSkopeo: { min: 1 },
  rebuildSecondsOverDocker: { max: 0.3 },
  rebuildPlanSeconds: { max: 0.3 },
  // Issue 10's acceptance figure for this case (≤ 1.5 MB up) is for an app with ~1 MB of layers
  // of its own, and enginePush.test.ts shows it (1.07 MB); this bench's app has 4.2 MB
  // compressed, so here the goal is the ratio to the limit, and baseManyNamesUplinkBytes is reported.
  baseManyNamesBytesVsLimit: { max: 1.1 },
};

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const of = (samples: Sample[], scenario: ScenarioName, tool: string) => samples.filter((s) => s.scenario === scenario && s.tool === tool);

/** Median seconds, uplink bytes and uploaded-blob bytes of one tool in one scenario. */
function medians(samples: Sample[], scenario: ScenarioName, tool: string) {
  const runs = of(samples, scenario, tool);
  return {
    seconds: median(runs.map((s) => s.seconds)),
    uplinkBytes: median(runs.map((s) => s.uplinkBytes)),
    uploaded: median(runs.flatMap((s) => (s.uploadedBlobBytes === undefined ? [] : [s.uploadedBlobBytes]))),
    planSeconds: median(runs.flatMap((s) => (s.planSeconds === undefined ? [] : [s.planSeconds]))),
    outsideSeconds: median(runs.flatMap((s) => (s.outsideSeconds === undefined ? [] : [s.outsideSeconds]))),
    min: Math.min(...runs.map((s) => s.seconds)),
    max: Math.max(...runs.map((s) => s.seconds)),
    runs: runs.length,
    reused: runs.some((s) => s.reusedFrom !== undefined),
    uploaders: [...new Set(runs.flatMap((s) => (s.uploader === undefined ? [] : [s.uploader])))],
  };
}

const SCENARIOS: ScenarioName[] = ['firstPush', 'baseOnlyUpstream', 'fullPush', 'ociPush', 'rebuildPush', 'baseManyNames'];
const LIMITED: ScenarioName[] = ['firstPush', 'baseOnlyUpstream', 'baseManyNames'];

export function resultRows(samples: Sample[], facts: Facts, lsp: LspFigures | undefined): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const scenario of SCENARIOS) {
    for (const tool of TOOLS) {
      const m = medians(samples, scenario, tool);
      if (m.runs > 0) rows.push({ scenario, tool, uplinkBytes: m.uplinkBytes, seconds: m.seconds });
    }
    if (LIMITED.includes(scenario)) {
      // The physical limit: only the unique layers (as layerlift compressed them) cross the link.
      const unique = medians(samples, scenario, 'layerlift').uploaded;
      if (Number.isFinite(unique)) rows.push({ scenario, tool: 'limit', uplinkBytes: unique, seconds: unique / facts.uplinkBytesPerSecond });
    }
  }
  if (lsp) {
    for (const [metric, ms] of Object.entries(lsp.results)) {
      if (metric.endsWith('Ms')) rows.push({ scenario: `languageServer.${metric.replace(/Ms$/, '')}`, tool: 'layerlift', uplinkBytes: null, seconds: ms / 1000 });
    }
  }
  return rows;
}

export function ratios(samples: Sample[], facts: Facts, lsp: LspFigures | undefined): Record<string, number> {
  const m = (scenario: ScenarioName, tool: string) => medians(samples, scenario, tool);
  const throughput = (tool: string) => facts.fullImageBytes / m('fullPush', tool).seconds;
  const first = m('firstPush', 'layerlift');
  const out: Record<string, number> = {
    firstPushBytesVsLimit: first.uplinkBytes / first.uploaded,
    firstPushTimeVsDocker: first.seconds / m('firstPush', 'docker').seconds,
    // The time the unique bytes need at the link's limit, against what the whole push took.
    firstPushTimeVsLimit: first.seconds / (first.uploaded / facts.uplinkBytesPerSecond),
    firstPushOwnTimeVsDocker: m('firstPush', 'layerlift-own').seconds / m('firstPush', 'docker').seconds,
    baseUpstreamBytesVsLimit: m('baseOnlyUpstream', 'layerlift').uplinkBytes / m('baseOnlyUpstream', 'layerlift').uploaded,
    baseUpstreamTimeVsDocker: m('baseOnlyUpstream', 'layerlift').seconds / m('baseOnlyUpstream', 'docker').seconds,
    fullPushThroughputVsDocker: throughput('layerlift') / throughput('docker'),
    fullPushThroughputVsSkopeo: throughput('layerlift') / throughput('skopeo'),
    fullPushOwnThroughputVsDocker: throughput('layerlift-own') / throughput('docker'),
    fullPushOwnThroughputVsSkopeo: throughput('layerlift-own') / throughput('skopeo'),
    // The same image, as an OCI layout: seconds compare directly (same bytes for both).
    ociPushThroughputVsSkopeo: m('ociPush', 'skopeo').seconds / m('ociPush', 'layerlift').seconds,
    rebuildSecondsOverDocker: m('rebuildPush', 'layerlift').seconds - m('rebuildPush', 'docker').seconds,
    rebuildTimeVsDocker: m('rebuildPush', 'layerlift').seconds / m('rebuildPush', 'docker').seconds,
    // The time layerlift adds before the engine starts pushing: its --json planSeconds (plan and
    // registry reads, counted from the push's start) and, beside it, the wall time outside the
    // push's own clock (process start, module load, engine inspect and image open; exit).
    rebuildPlanSeconds: m('rebuildPush', 'layerlift').planSeconds,
    rebuildOutsidePushSeconds: m('rebuildPush', 'layerlift').outsideSeconds,
    firstPushPlanSeconds: first.planSeconds,
    baseUpstreamPlanSeconds: m('baseOnlyUpstream', 'layerlift').planSeconds,
    fullPushPlanSeconds: m('fullPush', 'layerlift').planSeconds,
    baseManyNamesPlanSeconds: m('baseManyNames', 'layerlift').planSeconds,
    rebuildOwnTimeVsDocker: m('rebuildPush', 'layerlift-own').seconds / m('rebuildPush', 'docker').seconds,
    baseManyNamesBytesVsLimit: m('baseManyNames', 'layerlift').uplinkBytes / m('baseManyNames', 'layerlift').uploaded,
    baseManyNamesUplinkBytes: m('baseManyNames', 'layerlift').uplinkBytes,
  };
  if (lsp) {
    for (const [metric, value] of Object.entries(lsp.results)) {
      const goal = lsp.goals[metric];
      if (goal !== undefined) out[`lsp${metric[0]?.toUpperCase() ?? ''}${metric.slice(1)}VsGoal`] = value / goal;
    }
  }
  // Scenarios left out (--only) have no ratio rather than a NaN.
  return Object.fromEntries(Object.entries(out).filter(([, value]) => Number.isFinite(value)));
}

const pad = (text: string, width: number) => text.padEnd(width);
const num = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
/** A ratio's value as the table shows it: byte counts in MB, seconds with their unit. */
function shown(name: string, value: number): string {
  if (name.endsWith('Bytes')) return `${num(value / 1e6)} MB`;
  if (name.endsWith('Seconds') || name.endsWith('SecondsOverDocker')) return `${num(value, 3)} s`;
  return num(value, 3);
}

function verdict(name: string, value: number): string {
  const goal = GOALS[name] ?? (name.startsWith('lsp') ? { max: 1 } : undefined);
  if (!goal) {
    if (name.endsWith('PlanSeconds')) return 'reported (push start → mover began)';
    if (name.endsWith('OutsidePushSeconds')) return 'reported (process start, inspect, exit)';
    return 'no goal';
  }
  const met = 'max' in goal ? value <= goal.max : value >= goal.min;
  // The goal as written (1.5 MB, 0.3 s, 0.95): no padding zeros.
  const bound = 'max' in goal ? goal.max : goal.min;
  const written = name.endsWith('Bytes') ? `${bound / 1e6} MB` : name.endsWith('Seconds') || name.endsWith('SecondsOverDocker') ? `${bound} s` : String(bound);
  return `${'max' in goal ? '≤' : '≥'} ${written}  ${met ? 'met' : 'MISSED'}`;
}

export function renderTable(samples: Sample[], facts: Facts, lsp: LspFigures | undefined, header: string[]): string {
  const lines = [...header, ''];
  lines.push(`${pad('scenario', 18)}${pad('tool', 15)}${'uplink MB'.padStart(11)}${'median s'.padStart(10)}${'  (min–max s)'.padEnd(18)}${'MB/s'.padStart(8)}  runs`);
  for (const scenario of SCENARIOS) {
    for (const tool of TOOLS) {
      const m = medians(samples, scenario, tool);
      if (m.runs === 0) continue;
      const mbps = scenario === 'fullPush' || scenario === 'ociPush' ? num(facts.fullImageBytes / 1e6 / m.seconds, 1) : '';
      const moved = m.uploaders.length > 0 ? `${m.uploaders.join('+')} uploader, ` : '';
      const outside = Number.isFinite(m.outsideSeconds) ? `, ${num(m.outsideSeconds)} s outside the push` : '';
      const note = m.reused ? 'reused from firstPush' : `${m.runs}${Number.isFinite(m.planSeconds) ? `   (${moved}mover began ${num(m.planSeconds)} s into the push${outside})` : ''}`;
      lines.push(`${pad(scenario, 18)}${pad(tool, 15)}${num(m.uplinkBytes / 1e6).padStart(11)}${num(m.seconds).padStart(10)}${`  (${num(m.min)}–${num(m.max)})`.padEnd(18)}${mbps.padStart(8)}  ${note}`);
    }
    if (LIMITED.includes(scenario)) {
      const unique = medians(samples, scenario, 'layerlift').uploaded;
      if (Number.isFinite(unique)) lines.push(`${pad(scenario, 18)}${pad('limit', 15)}${num(unique / 1e6).padStart(11)}${num(unique / facts.uplinkBytesPerSecond).padStart(10)}  unique compressed bytes ÷ bandwidth`);
    }
  }
  lines.push(...cpuTable(samples, facts));
  lines.push('', `${pad('ratio', 34)}${'value'.padStart(10)}  goal`);
  for (const [name, value] of Object.entries(ratios(samples, facts, lsp))) lines.push(`${pad(name, 34)}${shown(name, value).padStart(10)}  ${verdict(name, value)}`);
  if (lsp) {
    lines.push('', 'language server (scripts/bench-lsp.ts)');
    for (const [metric, value] of Object.entries(lsp.results)) lines.push(`  ${pad(metric, 24)}${num(value).padStart(9)}   goal ≤ ${lsp.goals[metric] ?? '—'}`);
  }
  return lines.join('\n');
}

/**
 * CPU per MB of the image (uncompressed) in the throughput scenarios: medians of the tool's
 * process, dockerd and the registry (scripts/bench/cpu.ts). On two cores a push that needs more
 * CPU than another cannot be as fast once both are CPU-bound.
 */
function cpuTable(samples: Sample[], facts: Facts): string[] {
  const lines = ['', `CPU seconds per MB of image (${num(facts.fullImageBytes / 1e6, 0)} MB), medians`, `${pad('scenario', 18)}${pad('tool', 15)}${'client'.padStart(9)}${'dockerd'.padStart(9)}${'registry'.padStart(10)}${'total'.padStart(9)}${'CPU s'.padStart(9)}`];
  for (const scenario of ['fullPush', 'ociPush'] as const) {
    for (const tool of TOOLS) {
      const runs = of(samples, scenario, tool).filter((s) => s.cpu !== undefined);
      if (runs.length === 0) continue;
      const part = (key: 'client' | 'engine' | 'registry') => median(runs.map((s) => s.cpu?.[key] ?? 0));
      const total = median(runs.map((s) => (s.cpu ? s.cpu.client + s.cpu.engine + s.cpu.registry : 0)));
      const perMb = (seconds: number) => num(seconds / (facts.fullImageBytes / 1e6), 4).padStart(9);
      lines.push(`${pad(scenario, 18)}${pad(tool, 15)}${perMb(part('client'))}${perMb(part('engine'))}${perMb(part('registry')).padStart(10)}${perMb(total)}${num(total).padStart(9)}`);
    }
  }
  return lines.length > 3 ? lines : [];
}
