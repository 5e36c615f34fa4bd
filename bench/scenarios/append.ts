/**
 * append: events/s appending single events to distinct streams from 8 connections, against
 * plain single-row INSERTs of the same payload into an identity-keyed table over the same 8
 * connections. Runs of the two alternate, so both see the same machine state.
 */
import { randomUUID } from 'node:crypto';
import { createEventStore } from '../../src/store/events.ts';
import {
  median,
  round,
  scratchDatabase,
  spread,
  type BenchContext,
  type ScenarioResult,
} from '../lib.ts';

const CONNECTIONS = 8;
const data = { chunk: 'x'.repeat(120), n: 1 };
const meta = { state_after: { value: 'running', attempts: 1 }, machine_version: 'task@1' };

export async function appendScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const db = await scratchDatabase(ctx, CONNECTIONS);
  try {
    await db.pool.query(
      'create table raw_insert (id bigint generated always as identity primary key, stream_id uuid, type text, data jsonb, meta jsonb)',
    );
    const store = createEventStore(db.pool);
    const seconds = ctx.quick ? 1 : 3;
    const runs = ctx.quick ? 2 : 4;

    const measure = async (kind: 'append' | 'raw') => {
      let n = 0;
      const end = performance.now() + seconds * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < end) {
            if (kind === 'append') {
              await store.append({ type: 'task', id: randomUUID() }, 0, [
                { type: 'task.output_appended', data, meta },
              ]);
            } else {
              await db.pool.query(
                'insert into raw_insert (stream_id, type, data, meta) values ($1, $2, $3, $4)',
                [randomUUID(), 'task.output_appended', JSON.stringify(data), JSON.stringify(meta)],
              );
            }
            n++;
          }
        }),
      );
      return n / ((performance.now() - started) / 1000);
    };

    await measure('append'); // warm-up
    await measure('raw');
    const append: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < runs; i++) {
      ctx.log(`append run ${i + 1}/${runs}`);
      append.push(await measure('append'));
      raw.push(await measure('raw'));
    }
    const ratio = median(append) / median(raw);
    return {
      json: {
        append: {
          events_per_s: round(median(append), 0),
          ratio_to_raw: round(ratio, 3),
          spread_pct: round(spread(append), 1),
          runs: append.map((x) => round(x, 0)),
        },
        raw_insert: {
          rows_per_s: round(median(raw), 0),
          spread_pct: round(spread(raw), 1),
          runs: raw.map((x) => round(x, 0)),
        },
      },
      lines: [
        {
          metric: 'append (events/s, 8 conns)',
          value: round(median(append), 0).toLocaleString('en'),
          reference: `raw insert ${round(median(raw), 0).toLocaleString('en')}`,
          ratio: `${round(ratio, 2)}×`,
          spread: `±${round(spread(append), 1)}%`,
          goal: '≥ 0.8×',
        },
      ],
    };
  } finally {
    await db.drop();
  }
}
