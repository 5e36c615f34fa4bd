/**
 * The commands of the model-based runtime test. Each one runs against the real runtime (the
 * same calls the server makes: `runtime.send`, `claimPending`, `sweepExpiredLeases`,
 * `rebuildProjections`), predicts its outcome with the model, and compares the two: the send
 * succeeds exactly when the model says the task takes it, and afterwards the read tables equal
 * the model and every stream replays to the live actor.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type pg from 'pg';
import { expect } from 'vitest';
import { IllegalStateError } from '../../../src/errors.ts';
import { rebuildProjections } from '../../../src/projections/rebuild.ts';
import type { Command, Runtime } from '../../../src/runtime/actor-host.ts';
import { claimPending } from '../../../src/runtime/claim.ts';
import { resumeFlows } from '../../../src/runtime/flows.ts';
import { sweepExpiredLeases } from '../../../src/runtime/lease-sweeper.ts';
import { dumpReadTables } from '../../helpers/runtime.ts';
import { expectAgreement } from './agreement.ts';
import {
  LEASE_MS,
  claim,
  expireLeases,
  newTask,
  stopRun,
  taskRules,
  type Model,
  type TaskModel,
} from './model.ts';

export interface Real {
  pool: pg.Pool;
  runtime: Runtime;
  /** A new runtime on the same database, as a restarted process gets. */
  restart: () => Runtime;
  clock: { now: number };
  /** Errors thrown by effects (they are otherwise swallowed): there must be none. */
  effectErrors: unknown[];
}

type ModelCommand = fc.AsyncCommand<Model, Real, false>;

const iso = (ms: number) => new Date(ms).toISOString();

/** Every command moves the clock one second, in the model and for the runtime alike. */
function tick(m: Model, r: Real, ms = 1000) {
  m.now += ms;
  r.clock.now = m.now;
}

async function accepted(send: Promise<unknown>): Promise<boolean> {
  try {
    await send;
    return true;
  } catch (error) {
    if (error instanceof IllegalStateError) return false;
    throw error;
  }
}

async function settle(m: Model, r: Real) {
  await r.runtime.drain();
  expect(r.effectErrors).toEqual([]);
  await expectAgreement(m, r);
}

/** A command to one task, picked by index among the tasks that exist. */
class ToTask implements ModelCommand {
  constructor(
    readonly label: string,
    readonly pick: number,
    readonly command: (m: Model, t: TaskModel) => Command,
    readonly rule: (m: Model, t: TaskModel) => boolean,
  ) {}
  check = (m: Readonly<Model>) => m.tasks.length > 0;
  async run(m: Model, r: Real) {
    tick(m, r);
    const t = m.tasks[this.pick % m.tasks.length]!;
    const command = this.command(m, t);
    const expected = this.rule(m, t);
    const got = await accepted(r.runtime.send('task', t.id, command));
    expect(got, `${this.toString()} on ${t.id} (${t.state}) accepted?`).toBe(expected);
    await settle(m, r);
  }
  toString = () => `${this.label}(task #${this.pick})`;
}

class CreateTask implements ModelCommand {
  constructor(
    readonly priority: number,
    readonly maxAttempts: number,
  ) {}
  check = (m: Readonly<Model>) => m.tasks.length < 10;
  async run(m: Model, r: Real) {
    tick(m, r);
    const id = randomUUID();
    await r.runtime.send('task', id, {
      type: 'task.created',
      input: 'x',
      priority: this.priority,
      max_attempts: this.maxAttempts,
      at: iso(m.now),
    });
    newTask(m, id, { priority: this.priority, maxAttempts: this.maxAttempts });
    await settle(m, r);
  }
  toString = () => `create(priority ${this.priority}, max_attempts ${this.maxAttempts})`;
}

class Claim implements ModelCommand {
  constructor(readonly worker: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    tick(m, r);
    const ids = await claimPending(r.runtime, this.worker, 1, LEASE_MS, () => new Date(m.now));
    const expected = claim(m, this.worker);
    expect(ids).toEqual(expected ? [expected.id] : []);
    await settle(m, r);
  }
  toString = () => `claim(${this.worker})`;
}

class ExpireLeases implements ModelCommand {
  constructor(readonly advanceMs: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    tick(m, r, this.advanceMs);
    const swept = await sweepExpiredLeases(r.pool, r.runtime, () => new Date(m.now));
    expect(swept).toBe(expireLeases(m));
    await settle(m, r);
  }
  toString = () => `expire leases(+${this.advanceMs / 1000}s)`;
}

class CancelRun implements ModelCommand {
  check = () => true;
  async run(m: Model, r: Real) {
    tick(m, r);
    const expected = m.flow.status === 'running';
    const got = await accepted(
      r.runtime.send('flow_run', m.flow.id, { type: 'flow_run.cancelled', at: iso(m.now) }),
    );
    expect(got).toBe(expected);
    if (expected) stopRun(m, 'cancelled');
    await settle(m, r);
  }
  toString = () => 'cancel run';
}

/**
 * A process restart: a runtime that remembers nothing, and `resumeFlows` as the server runs it
 * on start. Nothing was lost, so it must find nothing to do and change nothing.
 */
class Restart implements ModelCommand {
  check = () => true;
  async run(m: Model, r: Real) {
    tick(m, r);
    r.runtime = r.restart();
    const resumed = await resumeFlows(r.pool, r.runtime, () => new Date(m.now));
    expect(resumed).toBe(m.flow.status === 'running' ? 1 : 0);
    await settle(m, r);
  }
  toString = () => 'restart';
}

class Rebuild implements ModelCommand {
  check = () => true;
  async run(m: Model, r: Real) {
    tick(m, r);
    const before = await dumpReadTables(r.pool);
    await rebuildProjections(r.pool, { batchSize: 5 });
    expect(await dumpReadTables(r.pool)).toEqual(before);
    await settle(m, r);
  }
  toString = () => 'rebuild';
}

const pick = fc.nat(9);
const at = (m: Model) => iso(m.now);

const toTask = (
  label: string,
  command: (m: Model, t: TaskModel) => Command,
  rule: (m: Model, t: TaskModel) => boolean,
) => pick.map((n) => new ToTask(label, n, command, rule));

/**
 * Weighted toward moving tasks along (claims, completions, blocks and answers), so flows
 * progress and leases run out; the run's cancel is rare, or it would end most flows early.
 */
const WEIGHTED: [number, fc.Arbitrary<ModelCommand>][] = [
  [
    2,
    fc
      .tuple(fc.integer({ min: -1, max: 1 }), fc.integer({ min: 1, max: 2 }))
      .map(([p, n]) => new CreateTask(p, n)),
  ],
  [4, fc.constantFrom('w1', 'w2').map((w) => new Claim(w))],
  [
    1,
    toTask(
      'output',
      (m) => ({ type: 'task.output_appended', chunk: 'out', at: at(m) }),
      taskRules.output,
    ),
  ],
  [
    1,
    fc.tuple(pick, fc.nat(5)).map(
      ([n, cost]) =>
        new ToTask(
          `usage ${cost}`,
          n,
          (m) => ({
            type: 'task.usage_recorded',
            input_tokens: 1,
            output_tokens: 1,
            cost_tokens: cost,
            at: at(m),
          }),
          (m, t) => taskRules.usage(m, t, cost),
        ),
    ),
  ],
  [
    2,
    fc.tuple(pick, fc.constantFrom('permission' as const, 'question' as const)).map(
      ([n, kind]) =>
        new ToTask(
          `block ${kind}`,
          n,
          (m) => ({
            type: 'task.blocked',
            request_id: `r${m.now}`,
            kind,
            prompt: 'ok?',
            at: at(m),
          }),
          (m, t) => taskRules.block(m, t, `r${m.now}`, kind),
        ),
    ),
  ],
  [
    2,
    fc.tuple(pick, fc.boolean()).map(([n, right]) => {
      // A right answer names the open request; a wrong one a request that is not open.
      const requestId = (t: TaskModel) => (right ? (t.request?.id ?? 'none') : 'stale');
      return new ToTask(
        right ? 'answer' : 'answer stale',
        n,
        (m, t) => ({
          type: 'task.request_answered',
          request_id: requestId(t),
          answer: 'yes',
          at: at(m),
        }),
        (m, t) => taskRules.answer(m, t, requestId(t)),
      );
    }),
  ],
  [
    3,
    toTask(
      'complete',
      (m) => ({ type: 'task.completed', output_summary: 'done', at: at(m) }),
      taskRules.complete,
    ),
  ],
  [
    2,
    toTask(
      'fail',
      (m) => ({ type: 'task.failed', error: 'boom', at: at(m) }),
      (m, t) => taskRules.fail(m, t, 'boom'),
    ),
  ],
  [
    1,
    fc.tuple(pick, fc.constantFrom('w1', 'w2')).map(
      ([n, worker]) =>
        new ToTask(
          `extend lease ${worker}`,
          n,
          (m) => ({
            type: 'task.lease_extended',
            worker_id: worker,
            lease_expires_at: iso(m.now + LEASE_MS),
            at: at(m),
          }),
          (m, t) => taskRules.extend(m, t, worker),
        ),
    ),
  ],
  [
    1,
    fc.tuple(pick, fc.constantFrom('w1', 'w2')).map(
      ([n, worker]) =>
        new ToTask(
          `release ${worker}`,
          n,
          (m) => ({ type: 'task.released', worker_id: worker, at: at(m) }),
          (m, t) => taskRules.release(m, t, worker),
        ),
    ),
  ],
  [1, toTask('cancel', (m) => ({ type: 'task.cancelled', at: at(m) }), taskRules.cancel)],
  [2, toTask('retry', (m) => ({ type: 'task.retried', at: at(m) }), taskRules.retry)],
  [1, toTask('dismiss', (m) => ({ type: 'task.dismissed', at: at(m) }), taskRules.dismiss)],
  [2, fc.constantFrom(30_000, LEASE_MS + 1000).map((ms) => new ExpireLeases(ms))],
  [1, fc.constant(new Rebuild())],
  [1, fc.constant(new Restart())],
];

/** fc.commands picks uniformly among its arbitraries: a weight is that many copies. */
export const commandArb: fc.Arbitrary<ModelCommand>[] = [
  ...WEIGHTED.flatMap(([weight, arb]) => Array.from({ length: weight }, () => arb)),
  // One in ~25 picks: most runs keep their flow going long enough to finish it.
  fc.constant(new CancelRun()),
];
