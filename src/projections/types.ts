/**
 * A read model: which streams feed it, which rows an event touches, and a pure `evolve`
 * from the row before to the row after (null: the row goes away). Rows are plain JSON
 * objects whose keys are the table's columns, so one generic SQL layer (sql.ts) loads and
 * writes every read table, inline and in a rebuild alike.
 */
import type { JsonObject, StoredEvent, StreamType } from '../store/types.ts';

export type Row = JsonObject;

export interface Projection {
  /** The read table. */
  table: string;
  /** Its primary key columns, in order. */
  key: readonly string[];
  /** Every column, in order: what an upsert writes. */
  columns: readonly string[];
  streamTypes: readonly StreamType[];
  /** The keys of the rows `event` may change (empty: none). */
  /**
   * The rows an event touches. They must belong to the event's own stream (no other stream's
   * events touch them): the inline row cache relies on it.
   */
  keysOf(event: StoredEvent): Row[];
  evolve(row: Row | null, event: StoredEvent, key: Row): Row | null;
}

/** What an event says its stream's machine state became (recorded by the runtime). */
export function stateAfter(event: StoredEvent): { value: string } & JsonObject {
  const after = event.meta.state_after;
  if (
    typeof after !== 'object' ||
    after === null ||
    Array.isArray(after) ||
    typeof after.value !== 'string'
  ) {
    throw new Error(
      `event ${event.streamId}@${event.version} (${event.type}) has no meta.state_after`,
    );
  }
  return after as { value: string } & JsonObject;
}

/** Thrown when an event arrives for a row that should exist: the log and the table disagree. */
export class ProjectionError extends Error {}

export function requireRow(row: Row | null, table: string, event: StoredEvent): Row {
  if (!row) {
    throw new ProjectionError(
      `${table}: ${event.type} (${event.streamId}@${event.version}) for a row that does not exist`,
    );
  }
  return row;
}

/** The event's own time, which every row timestamp comes from (never the clock: rebuilds must agree). */
export const at = (event: StoredEvent): string => event.data.at as string;
