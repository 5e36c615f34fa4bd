/**
 * The pure fold of events through a machine: loading an actor, time travel and
 * verification all go through here, and none of it runs an effect.
 */
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import type { ActorKind } from '../machines/index.ts';
import type { JsonObject } from '../store/types.ts';

/** A machine event as stored: its type plus its data. */
export interface EventLike {
  type: string;
  data: JsonObject;
}

export interface Step {
  snapshot: AnyMachineSnapshot;
  /** Names of the effect actions this transition asks for. */
  effects: string[];
  accepted: boolean;
}

export function initialSnapshot(kind: ActorKind): AnyMachineSnapshot {
  return initialTransition(kind.machine)[0] as AnyMachineSnapshot;
}

export function toMachineEvent(event: EventLike): { type: string } & JsonObject {
  return { ...event.data, type: event.type };
}

export function step(kind: ActorKind, snapshot: AnyMachineSnapshot, event: EventLike): Step {
  const [next, actions] = transition(kind.machine, snapshot, toMachineEvent(event) as never);
  // xstate returns the very same snapshot when no transition was enabled.
  const accepted = next !== snapshot;
  const effects = actions.map((a) => a.type).filter((t) => kind.effects.includes(t));
  return { snapshot: next as AnyMachineSnapshot, effects, accepted };
}

export class ReplayError extends Error {}

/** Folds `events` onto `from` (default: the initial state). An event the machine rejects is a ReplayError. */
export function fold(
  kind: ActorKind,
  events: readonly (EventLike & { version?: number })[],
  from: AnyMachineSnapshot = initialSnapshot(kind),
): AnyMachineSnapshot {
  let snapshot = from;
  for (const event of events) {
    const next = step(kind, snapshot, event);
    if (!next.accepted) {
      throw new ReplayError(
        `${kind.version} rejects ${event.type}${event.version ? ` (version ${event.version})` : ''} in state ${JSON.stringify(snapshot.value)}`,
      );
    }
    snapshot = next.snapshot;
  }
  return snapshot;
}

/** What a snapshot is, as JSON: its state value and context. */
export interface PersistedState {
  value: unknown;
  context: unknown;
}

export function persist(snapshot: AnyMachineSnapshot): PersistedState {
  return { value: snapshot.value, context: snapshot.context };
}

export function restore(kind: ActorKind, state: PersistedState): AnyMachineSnapshot {
  return kind.machine.resolveState(state as never) as AnyMachineSnapshot;
}

/** The event types the snapshot's active states have transitions for (guards aside). */
export function acceptedEventTypes(snapshot: AnyMachineSnapshot): string[] {
  if (snapshot.status !== 'active') return [];
  const types = new Set<string>();
  for (const node of snapshot._nodes)
    for (const type of node.ownEvents as string[]) types.add(type);
  return [...types].sort();
}

export function isTerminal(snapshot: AnyMachineSnapshot): boolean {
  return snapshot.status === 'done';
}
