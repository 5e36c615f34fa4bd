/**
 * The actor host: the one path every state change takes.
 *
 *   load actor (snapshot + later events) → pure transition → append the event with the
 *   expected version and meta.state_after (+ inline projections) in one transaction →
 *   commit → then run the effects the transition named.
 *
 * Sends to one stream are serialised in this process; a ConcurrencyError (another process
 * wrote first) reloads and retries a bounded number of times. Effects never run while
 * loading or replaying, and never for an event that did not commit.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AnyMachineSnapshot } from 'xstate';
import type pg from 'pg';
import { ConcurrencyError, IllegalStateError, NotFoundError, ValidationError } from '../errors.ts';
import { isTimestamp } from '../machines/ids.ts';
import { ACTOR_KINDS, type ActorKind, type ActorKindName } from '../machines/index.ts';
import { withTransaction } from '../store/db.ts';
import type { EventStore } from '../store/events.ts';
import { createNotifier, type Notifier } from '../store/notifier.ts';
import type { SnapshotStore } from '../store/snapshots.ts';
import type { JsonObject, StoredEvent } from '../store/types.ts';
import { isUuid } from '../store/validate-event.ts';
import { writeClauses, type RowWrites } from '../projections/sql.ts';
import { announce } from './announce.ts';
import {
  acceptedEventTypes,
  fold,
  initialSnapshot,
  isTerminal,
  persist,
  restore,
  step,
  type PersistedState,
} from './replay.ts';

export type StreamType = ActorKindName;

export interface Actor {
  streamType: StreamType;
  streamId: string;
  version: number;
  snapshot: AnyMachineSnapshot;
}

/** What a command carries: the event type and its data, flat (`{type, ...data}`). */
export type Command = { type: string } & JsonObject;

export interface SendOptions {
  /** Extra meta to record: causation_id, correlation_id, actor… */
  meta?: JsonObject;
}

export interface SendResult extends Actor {
  event: StoredEvent;
  effects: string[];
}

export type TxSend = (
  streamType: StreamType,
  streamId: string,
  command: Command,
  options?: SendOptions,
) => Promise<SendResult>;

export interface EffectContext {
  name: string;
  actor: Actor;
  event: StoredEvent;
  runtime: Runtime;
}

export type EffectHandler = (effect: EffectContext) => Promise<void> | void;

/** Runs inside the append transaction, after the event is written: inline projections. */
export type InlineHook = (tx: pg.PoolClient, event: StoredEvent, actor: Actor) => Promise<void>;

export interface RuntimeOptions {
  pool: pg.Pool;
  store: EventStore;
  snapshots: SnapshotStore;
  /** Effect implementations by action name; an effect with no handler is skipped. */
  effects?: Partial<Record<string, EffectHandler>>;
  inline?: InlineHook;
  /** Save a snapshot every N versions (0: never). A cache only. */
  snapshotEvery?: number;
  /** Reload-and-retry rounds after a ConcurrencyError before giving up. */
  maxRetries?: number;
  onEffectError?: (error: unknown, effect: EffectContext) => void;
  /** Replace an actor kind (tests: a deliberately altered machine). */
  kinds?: Partial<Record<StreamType, ActorKind>>;
  /** Sends the NOTIFY hints of each commit (default: one batching notifier on the pool). */
  notifier?: Notifier;
  /** Told the streams a failed transaction wrote to (the inline row cache forgets them). */
  onRollback?: (streamIds: readonly string[]) => void;
  /**
   * What `inline` would write for an event, planned before it is appended: a lone send then
   * commits the event and its read rows in one statement, without a transaction.
   */
  planInline?: (db: pg.Pool, event: StoredEvent) => Promise<RowWrites[]>;
}

export interface VerifyMismatch {
  streamId: string;
  version: number;
  recorded: unknown;
  replayed: unknown;
}

export interface Runtime {
  send(
    streamType: StreamType,
    streamId: string,
    command: Command,
    options?: SendOptions,
  ): Promise<SendResult>;
  /** The actor as it is now (from memory, or loaded). A stream with no events is at version 0. */
  load(streamType: StreamType, streamId: string): Promise<Actor>;
  /** The actor exactly as it was after `version`: no effect runs. */
  loadAt(streamType: StreamType, streamId: string, version: number): Promise<Actor>;
  verifyStream(
    streamType: StreamType,
    streamId: string,
  ): Promise<{ ok: boolean; mismatches: VerifyMismatch[] }>;
  /**
   * Several sends in one database transaction the caller shapes (a claim locks rows first,
   * then sends): all commit or none do, and effects run only after the commit. The caller
   * holds the database locks that keep these streams still, so no in-process lock is taken.
   */
  transaction<T>(fn: (tx: pg.PoolClient, send: TxSend) => Promise<T>): Promise<T>;
  /** Resolves when every effect started so far has finished (and those they started). */
  drain(): Promise<void>;
  /** The version this process last knew of a stream, if it holds the actor in memory. */
  knownVersion(streamId: string): number | undefined;
  /** Drops a cached actor, or all of them: they reload from the log on next use. */
  forget(streamId?: string): void;
  readonly liveActors: number;
}

const STREAM_TYPES = Object.keys(ACTOR_KINDS) as StreamType[];

/** The event types that create an actor of a kind: those its initial state takes. */
const creationTypeCache = new WeakMap<ActorKind, string[]>();
function creationTypes(kind: ActorKind): string[] {
  let types = creationTypeCache.get(kind);
  if (!types) {
    types = acceptedEventTypes(initialSnapshot(kind));
    creationTypeCache.set(kind, types);
  }
  return types;
}

function checkStreamType(streamType: StreamType): void {
  if (!STREAM_TYPES.includes(streamType)) {
    throw new ValidationError(
      `unknown stream type ${JSON.stringify(streamType)}; expected one of ${STREAM_TYPES.join(', ')}`,
    );
  }
}

function checkCommand(streamType: StreamType, streamId: string, command: Command): void {
  checkStreamType(streamType);
  if (!isUuid(streamId))
    throw new ValidationError(`${streamType} id must be a UUID, got ${JSON.stringify(streamId)}`);
  if (typeof command !== 'object' || command === null || typeof command.type !== 'string') {
    throw new ValidationError('a command needs a string `type`');
  }
  if (!isTimestamp(command.at)) {
    throw new ValidationError(
      `a command needs \`at\`, an ISO-8601 timestamp with a zone, got ${JSON.stringify(command.at)}`,
    );
  }
}

/** A stream id names one stream of one type: refuse to read a task as a flow run. */
function checkSameStreamType(events: StoredEvent[], streamType: StreamType, streamId: string) {
  const first = events[0];
  if (first && first.streamType !== streamType) {
    throw new ValidationError(
      `stream ${streamId} is a ${first.streamType} stream, not ${streamType}`,
    );
  }
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const { pool, store, snapshots } = options;
  const snapshotEvery = options.snapshotEvery ?? 100;
  const maxRetries = options.maxRetries ?? 10;
  // Idle actors are kept as their persisted state (value and context): a live xstate snapshot
  // carries several objects more per actor, and restoring one costs microseconds per send.
  const cache = new Map<
    string,
    { streamType: StreamType; version: number; state: PersistedState }
  >();
  const cached = (streamId: string): Actor | undefined => {
    const entry = cache.get(streamId);
    if (!entry) return undefined;
    const { streamType, version, state } = entry;
    return { streamType, streamId, version, snapshot: restore(kindOf(streamType), state) };
  };
  const keep = (actor: Actor) =>
    cache.set(actor.streamId, {
      streamType: actor.streamType,
      version: actor.version,
      state: persist(actor.snapshot),
    });
  const locks = new Map<string, Promise<unknown>>();
  const running = new Set<Promise<void>>();
  const kinds: Record<string, ActorKind> = { ...ACTOR_KINDS, ...options.kinds };
  const notifier = options.notifier ?? createNotifier(pool);
  function kindOf(streamType: StreamType): ActorKind {
    checkStreamType(streamType);
    return kinds[streamType]!;
  }

  /** Serialises work on one stream inside this process. */
  function exclusive<T>(streamId: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(streamId) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.catch(() => undefined);
    locks.set(streamId, tail);
    void tail.then(() => {
      if (locks.get(streamId) === tail) locks.delete(streamId);
    });
    return result;
  }

  async function loadFromLog(
    streamType: StreamType,
    streamId: string,
    upTo?: number,
  ): Promise<Actor> {
    const kind = kindOf(streamType);
    const saved = await snapshots.load(streamId, kind.version, upTo);
    let snapshot = saved
      ? restore(kind, saved.state as unknown as PersistedState)
      : initialSnapshot(kind);
    const from = saved ? saved.version : 0;
    const events = await store.readStream(streamId, { fromVersion: from + 1, toVersion: upTo });
    checkSameStreamType(events, streamType, streamId);
    snapshot = fold(kind, events, snapshot);
    return { streamType, streamId, version: events.at(-1)?.version ?? from, snapshot };
  }

  async function load(streamType: StreamType, streamId: string): Promise<Actor> {
    const entry = cache.get(streamId);
    if (entry) {
      if (entry.streamType !== streamType) {
        throw new ValidationError(
          `stream ${streamId} is a ${entry.streamType} stream, not ${streamType}`,
        );
      }
      return cached(streamId)!;
    }
    const actor = await loadFromLog(streamType, streamId);
    if (actor.version > 0 && !isTerminal(actor.snapshot)) keep(actor);
    return actor;
  }

  function runEffects(names: string[], actor: Actor, event: StoredEvent): void {
    for (const name of names) {
      const handler = options.effects?.[name];
      if (!handler) continue;
      const context: EffectContext = { name, actor, event, runtime };
      const job = (async () => {
        try {
          await handler(context);
        } catch (error) {
          options.onEffectError?.(error, context);
        }
      })();
      running.add(job);
      void job.finally(() => running.delete(job));
    }
  }

  interface Decision {
    kind: ActorKind;
    before: Actor;
    after: Actor;
    type: string;
    data: JsonObject;
    meta: JsonObject;
    effects: string[];
  }

  /** The pure part of a send: does the actor take this command, and what does it become? */
  function decide(actor: Actor, command: Command, meta: JsonObject): Decision {
    const { streamType, streamId } = actor;
    const kind = kindOf(streamType);
    const { type, ...data } = command;
    const next = step(kind, actor.snapshot, { type, data: data });
    if (!next.accepted) {
      const state = JSON.stringify(actor.snapshot.value);
      const accepts = acceptedEventTypes(actor.snapshot);
      const details = {
        stream_id: streamId,
        state: actor.snapshot.value as unknown,
        event: type,
        accepts,
      };
      // The state has a transition for this type, so a guard said no: malformed data, or
      // data that does not fit the state (another worker's lease, a stale request, a step
      // already started). Both are refusals by the state: 409. Shape errors are the HTTP
      // schemas' job, before a command gets here.
      if (accepts.includes(type)) {
        throw new IllegalStateError(
          `${streamType} ${streamId} (${state}) refuses this ${type}: a field is missing or malformed, or it does not match the ${streamType}'s state (wrong worker, request or step)`,
          { details },
        );
      }
      throw new IllegalStateError(
        `${streamType} ${streamId} is ${state} and does not take ${type} now; it takes ${accepts.length ? accepts.join(', ') : 'nothing (it has ended)'}`,
        { details },
      );
    }
    return {
      kind,
      before: actor,
      after: { streamType, streamId, version: actor.version + 1, snapshot: next.snapshot },
      type,
      data,
      meta: {
        ...meta,
        machine_version: kind.version,
        state_after: kind.stateAfter(next.snapshot as never) as JsonObject,
      },
      effects: next.effects,
    };
  }

  /** The writing part: the event, its read rows and maybe a snapshot, in the caller's transaction. */
  async function write(tx: pg.PoolClient, d: Decision): Promise<StoredEvent> {
    const { streamType, streamId, version, snapshot } = d.after;
    const { events } = await store.append(
      { type: streamType, id: streamId },
      d.before.version,
      [{ type: d.type, data: d.data, meta: d.meta }],
      tx,
    );
    const event = events[0]!;
    await options.inline?.(tx, event, d.after);
    if (snapshotEvery > 0 && version % snapshotEvery === 0) {
      await snapshots.save(
        { streamId, version, machineVersion: d.kind.version, state: persist(snapshot) as never },
        tx,
      );
    }
    return event;
  }

  /**
   * One event and its read rows in one statement (atomic on its own): the rows are planned
   * first, from the rows as the stream's current version left them, and written only if the
   * append's version check passes.
   */
  async function writeAlone(
    d: Decision,
    plan: NonNullable<RuntimeOptions['planInline']>,
  ): Promise<StoredEvent> {
    const { streamType, streamId, version } = d.after;
    const provisional: StoredEvent = {
      position: 0,
      txId: 0,
      streamType,
      streamId,
      version,
      type: d.type,
      data: d.data,
      meta: d.meta,
      createdAt: new Date(0),
    };
    const writes = await plan(pool, provisional);
    const { events } = await store.append(
      { type: streamType, id: streamId },
      d.before.version,
      [{ type: d.type, data: d.data, meta: d.meta }],
      undefined,
      { alongside: (first, appended) => writeClauses(writes, first, appended), quiet: true },
    );
    return events[0]!;
  }

  /** After commit: remember the new state (or forget an ended actor). */
  function remember(actor: Actor): void {
    if (isTerminal(actor.snapshot)) cache.delete(actor.streamId);
    else keep(actor);
  }

  /**
   * The actor a first attempt decides on. A command that creates a stream (the only event an
   * actor takes in its initial state) is decided on the initial state without reading the log:
   * if the stream exists after all, the append's version check refuses it and the retry reads.
   */
  function actorFor(streamType: StreamType, streamId: string, command: Command, first: boolean) {
    const kind = kindOf(streamType);
    if (first && !cache.has(streamId) && creationTypes(kind).includes(command.type)) {
      return Promise.resolve<Actor>({
        streamType,
        streamId,
        version: 0,
        snapshot: initialSnapshot(kind),
      });
    }
    return load(streamType, streamId);
  }

  async function attempt(
    streamType: StreamType,
    streamId: string,
    command: Command,
    meta: JsonObject,
    first: boolean,
  ): Promise<SendResult> {
    const decision = decide(await actorFor(streamType, streamId, command, first), command, meta);
    const snapshotDue = snapshotEvery > 0 && decision.after.version % snapshotEvery === 0;
    const event =
      options.planInline && !snapshotDue
        ? await writeAlone(decision, options.planInline)
        : await withTransaction(pool, (tx) => write(tx, decision));
    announce(notifier, [event]);
    remember(decision.after);
    return { ...decision.after, event, effects: decision.effects };
  }

  const runtime: Runtime = {
    async send(streamType, givenId, command, sendOptions = {}) {
      checkCommand(streamType, givenId, command);
      // One spelling per id: the cache, the locks and the read tables key on it.
      const streamId = givenId.toLowerCase();
      const result = await exclusive(streamId, async () => {
        for (let round = 0; ; round++) {
          try {
            return await attempt(
              streamType,
              streamId,
              command,
              sendOptions.meta ?? {},
              round === 0,
            );
          } catch (error) {
            // Someone else appended first: what we knew is stale.
            cache.delete(streamId);
            options.onRollback?.([streamId]);
            if (!(error instanceof ConcurrencyError) || round >= maxRetries) throw error;
            // Jittered backoff so two processes hammering one stream stop colliding.
            await new Promise((r) => setTimeout(r, Math.random() * 2 ** Math.min(round, 6)));
          }
        }
      });
      // After commit, outside the stream's lock: an effect may send to this stream again.
      runEffects(result.effects, result, result.event);
      return result;
    },

    load(streamType, streamId) {
      kindOf(streamType);
      if (!isUuid(streamId))
        return Promise.reject(new ValidationError(`${streamType} id must be a UUID`));
      return load(streamType, streamId.toLowerCase());
    },

    async loadAt(streamType, streamId, version) {
      kindOf(streamType);
      if (!isUuid(streamId)) throw new ValidationError(`${streamType} id must be a UUID`);
      if (!Number.isSafeInteger(version) || version < 0)
        throw new ValidationError('version must be an integer >= 0');
      const actor = await loadFromLog(streamType, streamId.toLowerCase(), version);
      if (actor.version < version) {
        throw new NotFoundError(
          `${streamType} ${streamId} has no version ${version} (it is at ${actor.version})`,
        );
      }
      return actor;
    },

    async verifyStream(streamType, streamId) {
      const kind = kindOf(streamType);
      streamId = streamId.toLowerCase();
      const events = await store.readStream(streamId);
      checkSameStreamType(events, streamType, streamId);
      const mismatches: VerifyMismatch[] = [];
      let snapshot = initialSnapshot(kind);
      for (const event of events) {
        const next = step(kind, snapshot, event);
        const recorded = event.meta.state_after ?? null;
        const replayed = next.accepted
          ? kind.stateAfter(next.snapshot as never)
          : { rejected: event.type };
        // Compared as values: the recorded state went through jsonb, which reorders keys.
        if (!isDeepStrictEqual(recorded, replayed)) {
          mismatches.push({ streamId, version: event.version, recorded, replayed });
        }
        if (next.accepted) snapshot = next.snapshot;
      }
      return { ok: mismatches.length === 0, mismatches };
    },

    async drain() {
      while (running.size > 0) await Promise.all([...running]);
      await notifier.flush();
    },

    knownVersion(streamId) {
      return cache.get(streamId.toLowerCase())?.version;
    },

    forget(streamId) {
      if (streamId === undefined) cache.clear();
      else cache.delete(streamId.toLowerCase());
    },

    async transaction(fn) {
      // Actors as this transaction has left them, ahead of what is committed.
      const pending = new Map<string, SendResult>();
      const sends: SendResult[] = [];
      const touched = new Set<string>();
      try {
        const result = await withTransaction(pool, (tx) =>
          fn(tx, async (streamType, givenId, command, sendOptions = {}) => {
            checkCommand(streamType, givenId, command);
            const streamId = givenId.toLowerCase();
            const actor = pending.get(streamId) ?? (await load(streamType, streamId));
            const decision = decide(actor, command, sendOptions.meta ?? {});
            touched.add(streamId);
            const event = await write(tx, decision);
            const sent = { ...decision.after, event, effects: decision.effects };
            pending.set(streamId, sent);
            sends.push(sent);
            return sent;
          }),
        );
        announce(
          notifier,
          sends.map((sent) => sent.event),
        );
        for (const sent of pending.values()) remember(sent);
        for (const sent of sends) runEffects(sent.effects, sent, sent.event);
        return result;
      } catch (error) {
        for (const streamId of pending.keys()) cache.delete(streamId);
        options.onRollback?.([...touched]);
        throw error;
      }
    },

    get liveActors() {
      return cache.size;
    },
  };
  return runtime;
}
