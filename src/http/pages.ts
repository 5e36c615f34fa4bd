/**
 * Keyset pages for lists shown newest first: a page's `next_cursor` names its last row by
 * (created_at, id), exact to the microsecond, so the next page starts right after it however
 * many rows arrive meanwhile. The cursor is opaque to clients (base64url).
 */
import { Type } from 'typebox';
import { ValidationError } from '../errors.ts';

export const PageCursor = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,200}$',
  description: 'next_cursor of a previous page',
});

/** Where the page after `cursor` starts; null for the first page. */
export function decodePageCursor(cursor: string | undefined): { at: string; id: string } | null {
  if (cursor === undefined) return null;
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(Date.parse(at))) {
    throw new ValidationError('cursor is not one this API handed out');
  }
  return { at, id };
}

/**
 * A page from rows read with `limit + 1` (the extra row only says whether more follow) and
 * a `cursor_at` column (`created_at::text`, which keeps the microseconds a Date would lose).
 */
export function pageOf<Row extends { id: string; cursor_at: string }>(rows: Row[], limit: number) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page.map(({ cursor_at: _, ...row }) => row),
    next_cursor:
      rows.length > limit && last
        ? Buffer.from(`${last.cursor_at}|${last.id}`, 'utf8').toString('base64url')
        : null,
  };
}
