/**
 * The one place the property tests read their knobs, so every property replays and deepens
 * the same way (src/config.ts is the server's environment, not the tests'):
 *
 *   FC_SEED=<n>    replay: every property runs from this seed (printed by any failure)
 *   FC_PATH=<p>    with FC_SEED, go straight to the failing case (also printed; it is one
 *                  property's path, so run that test alone with -t)
 *   FC_RUNS=<n>    run every property n times
 *   FC_RUNS=<k>x   run every property k times its default count (`npm run test:deep`: 20x)
 *
 * A failure throws with the seed, the path and the shrunk counterexample, formatted by the
 * caller (an event list reads better than fast-check's one-line object dump).
 */
import fc from 'fast-check';

function readRuns(raw: string | undefined): { count?: number; factor: number } {
  if (raw === undefined || raw === '') return { factor: 1 };
  const factor = /^(\d+(?:\.\d+)?)x$/.exec(raw);
  if (factor) return { factor: Number(factor[1]) };
  if (/^\d+$/.test(raw) && Number(raw) > 0) return { count: Number(raw), factor: 1 };
  throw new Error(`FC_RUNS must be a count (200) or a factor (20x), got ${JSON.stringify(raw)}`);
}

function readSeed(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw))
    throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

const RUNS = readRuns(process.env.FC_RUNS);
const SEED = readSeed(process.env.FC_SEED);
const PATH = process.env.FC_PATH || undefined;

/** How many runs a property whose default is `defaultRuns` gets now. */
export function runsFor(defaultRuns: number): number {
  return RUNS.count ?? Math.max(1, Math.round(defaultRuns * RUNS.factor));
}

/** How much longer than by default the properties run now (the test timeouts scale with it). */
export function depth(defaultRuns: number): number {
  return runsFor(defaultRuns) / defaultRuns;
}

/** A vitest timeout that grows with the number of runs. */
export function timeoutFor(defaultRuns: number, defaultMs: number): number {
  return Math.max(defaultMs, Math.ceil(defaultMs * depth(defaultRuns)));
}

/**
 * True when a property whose default is `defaultRuns` runs at least that often and is not
 * pinned to one seed: only then does counting what the runs covered mean something.
 */
export function fullSearch(defaultRuns: number): boolean {
  return SEED === undefined && runsFor(defaultRuns) >= defaultRuns;
}

export function fcParameters<Ts>(defaultRuns: number): fc.Parameters<Ts> {
  return {
    numRuns: runsFor(defaultRuns),
    ...(SEED === undefined ? {} : { seed: SEED }),
    ...(SEED !== undefined && PATH !== undefined ? { path: PATH } : {}),
  };
}

type Format<Ts> = (counterexample: Ts) => string;

function failure<Ts>(name: string, details: fc.RunDetails<Ts>, format?: Format<Ts>): Error | null {
  if (!details.failed) return null;
  const lines = [
    `property "${name}" failed after ${details.numRuns} run(s) and ${details.numShrinks} shrink(s)`,
    `replay: FC_SEED=${details.seed} FC_PATH=${details.counterexamplePath ?? ''} npx vitest run <this file> -t '${name}'`,
    "(FC_PATH is this property's path: run it alone; FC_SEED without FC_PATH replays the whole search)",
  ];
  if (details.counterexample !== null && format) {
    lines.push('shrunk counterexample:', format(details.counterexample));
  }
  lines.push('', fc.defaultReportMessage(details) ?? '');
  return new Error(lines.join('\n'), { cause: details.errorInstance });
}

/** fc.assert with the house's knobs and a readable counterexample. */
export function checkProperty<Ts>(
  name: string,
  property: fc.IProperty<Ts>,
  defaultRuns: number,
  format?: Format<Ts>,
): void {
  const error = failure(name, fc.check(property, fcParameters<Ts>(defaultRuns)), format);
  if (error) throw error;
}

export async function checkAsyncProperty<Ts>(
  name: string,
  property: fc.IAsyncProperty<Ts>,
  defaultRuns: number,
  format?: Format<Ts>,
): Promise<void> {
  const error = failure(name, await fc.check(property, fcParameters<Ts>(defaultRuns)), format);
  if (error) throw error;
}

/** One event a line, numbered: `3. task.claimed {"worker_id":"w1",…}`. */
export function formatEvents(
  events: readonly ({ type: string } & Record<string, unknown>)[],
): string {
  return events
    .map(({ type, ...data }, i) => `  ${i + 1}. ${type} ${JSON.stringify(data)}`)
    .join('\n');
}
