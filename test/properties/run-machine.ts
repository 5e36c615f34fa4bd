/**
 * Drives one random history through a machine: every event is offered in whatever state the
 * actor is in, `check` sees each step, coverage is counted, and at the end the accepted
 * events must replay to the live snapshot from scratch and from a snapshot persisted as JSON
 * at the given cut, recording the same `state_after` at every version.
 */
import type { AnyMachineSnapshot } from 'xstate';
import { expect } from 'vitest';
import type { ActorKind } from '../../src/machines/index.ts';
import {
  fold,
  initialSnapshot,
  persist,
  restore,
  step,
  type EventLike,
} from '../../src/runtime/replay.ts';
import type { JsonObject } from '../../src/store/types.ts';
import type { Ev } from '../helpers/machines.ts';
import type { Coverage } from './coverage.ts';

export interface Step {
  before: AnyMachineSnapshot;
  event: Ev;
  after: AnyMachineSnapshot;
  accepted: boolean;
  effects: string[];
}

export function runHistory(
  kind: ActorKind,
  events: Ev[],
  check: (s: Step) => void,
  options: { cut?: number; coverage?: Coverage } = {},
): AnyMachineSnapshot {
  let snapshot = initialSnapshot(kind);
  const accepted: EventLike[] = [];
  const recorded: unknown[] = [];
  for (const event of events) {
    const { type, ...data } = event;
    const next = step(kind, snapshot, { type, data: data as JsonObject });
    options.coverage?.record(snapshot.value, type, next.accepted);
    // Terminal states absorb everything.
    if (snapshot.status === 'done')
      expect(next.accepted, `${type} taken after the end`).toBe(false);
    check({
      before: snapshot,
      event,
      after: next.snapshot,
      accepted: next.accepted,
      effects: next.effects,
    });
    if (next.accepted) {
      accepted.push({ type, data: data as JsonObject });
      recorded.push(kind.stateAfter(next.snapshot as never));
      snapshot = next.snapshot;
    }
  }
  expectReplayable(kind, accepted, recorded, snapshot, options.cut ?? 0);
  return snapshot;
}

function expectReplayable(
  kind: ActorKind,
  accepted: EventLike[],
  recorded: unknown[],
  live: AnyMachineSnapshot,
  cutSeed: number,
) {
  const state = persist(live);
  // A persisted snapshot is JSON: it survives the round trip to the snapshots table exactly.
  expect(JSON.parse(JSON.stringify(state))).toStrictEqual(state);
  // From scratch, checking state_after at every version as `verifyStream` does.
  let replayed = initialSnapshot(kind);
  accepted.forEach((event, i) => {
    replayed = fold(kind, [event], replayed);
    expect(kind.stateAfter(replayed as never), `state_after at version ${i + 1}`).toStrictEqual(
      recorded[i],
    );
  });
  expect(persist(replayed)).toStrictEqual(state);
  // From a snapshot taken at any version, stored as JSON and restored.
  const cut = cutSeed % (accepted.length + 1);
  const stored = JSON.parse(JSON.stringify(persist(fold(kind, accepted.slice(0, cut))))) as never;
  const resumed = fold(kind, accepted.slice(cut), restore(kind, stored));
  expect(persist(resumed)).toStrictEqual(state);
  expect(resumed.status).toBe(live.status);
}
