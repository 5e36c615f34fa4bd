/**
 * After every command: the read tables hold what the model predicts, and every stream's log
 * replays to the live actor (from scratch, and from the saved snapshots), recording the same
 * `state_after` at every version as when it was written; time travel to an earlier version
 * gives the state recorded there.
 */
import { expect } from 'vitest';
import { ACTOR_KINDS } from '../../../src/machines/index.ts';
import type { StreamType } from '../../../src/runtime/actor-host.ts';
import { fold, persist } from '../../../src/runtime/replay.ts';
import { createEventStore } from '../../../src/store/events.ts';
import { serverLikeRuntime } from '../../helpers/runtime.ts';
import type { Real } from './commands.ts';
import { expectedRows, type Model } from './model.ts';

export async function expectAgreement(m: Model, r: Real): Promise<void> {
  const q = async (sql: string) => (await r.pool.query(sql)).rows as unknown[];
  expect({
    tasks: await q(`select id, state, priority, attempts, max_attempts, lease_owner,
        (extract(epoch from lease_expires_at) * 1000)::float8 as lease_ms, output_chunks,
        cost_tokens::float8 as cost_tokens, error, ended_at is not null as ended, run_id, step_id
      from tasks order by id`),
    inbox: await q(`select id, kind, request_id, actions from human_inbox order by id`),
    flow_runs: await q(`select id, status from flow_runs`),
    flow_steps: await q(`select step_id, status, task_id from flow_steps order by step_id`),
  }).toEqual(expectedRows(m));

  const store = createEventStore(r.pool);
  // No effects and no cache: it knows only what the log and the snapshots say.
  const cold = serverLikeRuntime(r.pool, { effects: {} });
  const streams: [StreamType, string][] = [
    ['flow_run', m.flow.id],
    ...m.tasks.map((t): [StreamType, string] => ['task', t.id]),
  ];
  for (const [type, id] of streams) {
    const live = persist((await r.runtime.load(type, id)).snapshot);
    const fromScratch = fold(ACTOR_KINDS[type], await store.readStream(id));
    expect(persist(fromScratch), `${type} ${id} replayed from scratch`).toStrictEqual(live);
    expect(
      persist((await cold.load(type, id)).snapshot),
      `${type} ${id} from its snapshot`,
    ).toStrictEqual(live);
    expect((await r.runtime.verifyStream(type, id)).mismatches).toEqual([]);
  }

  // Time travel: the flow run as it was at some earlier version is what that version recorded.
  const events = await store.readStream(m.flow.id);
  const version = 1 + (Math.floor(m.now / 1000) % events.length);
  const past = await cold.loadAt('flow_run', m.flow.id, version);
  expect(ACTOR_KINDS.flow_run.stateAfter(past.snapshot as never)).toEqual(
    events[version - 1]!.meta.state_after,
  );
}
