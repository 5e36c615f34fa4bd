/**
 * Log cursors as the API spells them. A position alone is not a safe place to resume: a
 * transaction that started earlier can commit a lower position later. The gap-safe reader
 * orders by (tx_id, position), so a cursor carries both: `<tx_id>:<position>`.
 */
import type { Checkpoint, StoredEvent } from '../store/types.ts';
import { START } from '../store/types.ts';

export function encodeCursor(checkpoint: Checkpoint): string {
  return checkpoint.txId === 0 && checkpoint.position === 0
    ? '0'
    : `${checkpoint.txId}:${checkpoint.position}`;
}

/** Assumes the string passed the `Cursor` schema (or is checked by the caller). */
export function decodeCursor(cursor: string | undefined): Checkpoint {
  if (cursor === undefined || cursor === '0') return START;
  const [txId, position] = cursor.split(':').map(Number);
  return { txId: txId!, position: position! };
}

export const CURSOR_PATTERN = /^(0|[0-9]{1,15}:[0-9]{1,15})$/;

/** One event as the API shows it: snake_case, with the cursor that resumes right after it. */
export function eventJson(event: StoredEvent) {
  return {
    cursor: encodeCursor(event),
    position: event.position,
    stream_type: event.streamType,
    stream_id: event.streamId,
    version: event.version,
    type: event.type,
    data: event.data,
    meta: event.meta,
    created_at: event.createdAt,
  };
}
