/** The `pending_changes` read table: one row per proposed file change. */
import { at, requireRow, stateAfter, type Projection, type Row } from './types.ts';

/** The machine's in-between states show as where the change still stands. */
const STATUS: Record<string, string> = { applying: 'pending', reverting: 'applied' };

export const pendingChangesProjection: Projection = {
  table: 'pending_changes',
  key: ['id'],
  columns: [
    'id',
    'session_id',
    'task_id',
    'file_path',
    'operation',
    'diff',
    'status',
    'agent',
    'reason',
    'created_at',
    'updated_at',
    'version',
  ],
  streamTypes: ['pending_change'],
  keysOf: (event) => [{ id: event.streamId }],
  evolve(row, event): Row | null {
    const d = event.data;
    const value = stateAfter(event).value;
    const status = STATUS[value] ?? value;
    if (event.type === 'pending_change.proposed') {
      return {
        id: event.streamId,
        session_id: d.session_id ?? null,
        task_id: d.task_id!,
        file_path: d.file_path!,
        operation: d.operation!,
        diff: d.diff!,
        status,
        agent: d.agent ?? null,
        reason: null,
        created_at: at(event),
        updated_at: at(event),
        version: event.version,
      };
    }
    const before = requireRow(row, 'pending_changes', event);
    return {
      ...before,
      status,
      reason:
        event.type === 'pending_change.rejected' || event.type === 'pending_change.conflicted'
          ? (d.reason ?? null)
          : event.type === 'pending_change.applied' || event.type === 'pending_change.reverted'
            ? null
            : before.reason!,
      updated_at: at(event),
      version: event.version,
    };
  },
};
