/**
 * Realistic histories, written straight to the log (with the `meta.state_after` the runtime
 * would record, computed by the real machines), so a benchmark can fill a database with a
 * hundred thousand events in seconds.
 */
import { randomUUID } from 'node:crypto';
import { ACTOR_KINDS, type ActorKindName } from '../src/machines/index.ts';
import { initialSnapshot, persist, step } from '../src/runtime/replay.ts';
import type { EventStore } from '../src/store/events.ts';
import type { SnapshotStore } from '../src/store/snapshots.ts';
import type { JsonObject, NewEvent } from '../src/store/types.ts';

type Command = { type: string } & JsonObject;

let clock = Date.UTC(2026, 0, 1);
export const at = () => new Date((clock += 10)).toISOString();

/** Commands → events with meta, plus snapshots every `snapshotEvery` versions. */
export function history(streamType: ActorKindName, commands: Command[], snapshotEvery = 0) {
  const kind = ACTOR_KINDS[streamType];
  let snapshot = initialSnapshot(kind);
  const events: NewEvent[] = [];
  const snapshots: { version: number; state: JsonObject }[] = [];
  commands.forEach(({ type, ...data }, i) => {
    const next = step(kind, snapshot, { type, data });
    if (!next.accepted)
      throw new Error(`fixture: ${type} rejected in ${JSON.stringify(snapshot.value)}`);
    snapshot = next.snapshot;
    events.push({
      type,
      data,
      meta: {
        machine_version: kind.version,
        state_after: kind.stateAfter(snapshot as never) as JsonObject,
      },
    });
    if (snapshotEvery && (i + 1) % snapshotEvery === 0)
      snapshots.push({ version: i + 1, state: persist(snapshot) as never });
  });
  return { events, snapshots, version: kind.version };
}

export function taskCommands(
  outputs: number,
  input = 'fix the failing test in src/parser.ts',
): Command[] {
  return [
    { type: 'task.created', input, priority: 0, at: at() },
    { type: 'task.claimed', worker_id: 'w1', lease_expires_at: at(), at: at() },
    { type: 'task.started', agent: 'scripted', model: null, execution_path: 'scripted', at: at() },
    ...Array.from({ length: outputs }, (_, i) => ({
      type: 'task.output_appended',
      chunk: `step ${i}: read the file, ran the tests, 3 failures left\n`,
      at: at(),
    })),
    {
      type: 'task.usage_recorded',
      input_tokens: 1200,
      output_tokens: 340,
      cost_tokens: 1540,
      at: at(),
    },
    { type: 'task.completed', output_summary: 'fixed the parser; all tests pass', at: at() },
  ];
}

export function runCommands(steps: number): Command[] {
  const ids = Array.from({ length: steps }, (_, i) => `s${i}`);
  const commands: Command[] = [
    {
      type: 'flow_run.created',
      flow_name: 'review',
      band: 'medium',
      input: { question: 'is this change safe?' },
      steps: ids.map((step_id, i) => ({
        step_id,
        kind: 'agent',
        depends_on: i ? [ids[i - 1]!] : [],
      })),
      at: at(),
    },
  ];
  for (const step_id of ids) {
    commands.push({ type: 'flow_run.step_started', step_id, task_id: randomUUID(), at: at() });
    commands.push({ type: 'flow_run.step_completed', step_id, output: 'looks fine', at: at() });
  }
  return commands;
}

/** Appends a history as one stream (in batches of 500), saving its snapshots. */
export async function writeStream(
  store: EventStore,
  snapshots: SnapshotStore,
  streamType: ActorKindName,
  id: string,
  h: ReturnType<typeof history>,
): Promise<void> {
  for (let i = 0; i < h.events.length; i += 500) {
    await store.append({ type: streamType, id }, i, h.events.slice(i, i + 500));
  }
  for (const s of h.snapshots) {
    await snapshots.save({
      streamId: id,
      version: s.version,
      machineVersion: h.version,
      state: s.state,
    });
  }
}
