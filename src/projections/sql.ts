/**
 * The SQL every read table shares: load rows by key, upsert rows, delete rows — each one
 * statement for a whole batch, rows passed as one JSON array and turned into table rows by
 * `jsonb_populate_recordset`, so a batch of any size is one round trip.
 */
import type { Queryable } from '../store/db.ts';
import type { Projection, Row } from './types.ts';

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * `t.<key> = k.<key>` inside a LATERAL subquery fenced with OFFSET 0: without the fence the
 * planner flattens it into a hash join that scans the whole table for every event (it guesses
 * 100 keys); fenced, each key is one primary-key index lookup.
 */
const matchKey = (projection: Projection) =>
  projection.key.map((c) => `t.${ident(c)} = k.${ident(c)}`).join(' and ');

export function keyString(projection: Projection, row: Row): string {
  return projection.key.map((k) => JSON.stringify(row[k])).join(',');
}

export async function loadRows(
  db: Queryable,
  table: string,
  projection: Projection,
  keys: Row[],
): Promise<Map<string, Row>> {
  const { rows } = await db.query<{ row: Row }>(
    `select x.row from jsonb_populate_recordset(null::${ident(table)}, $1) k
     cross join lateral (select to_jsonb(t) as row from ${ident(table)} t where ${matchKey(projection)} offset 0) x`,
    [JSON.stringify(keys)],
  );
  return new Map(rows.map(({ row }) => [keyString(projection, row), row]));
}

export async function upsertRows(
  db: Queryable,
  table: string,
  projection: Projection,
  rows: Row[],
) {
  if (rows.length === 0) return;
  const cols = projection.columns.map(ident).join(', ');
  const updates = projection.columns
    .filter((c) => !projection.key.includes(c))
    .map((c) => `${ident(c)} = excluded.${ident(c)}`)
    .join(', ');
  await db.query(
    `insert into ${ident(table)} (${cols})
     select ${cols} from jsonb_populate_recordset(null::${ident(table)}, $1)
     on conflict (${projection.key.map(ident).join(', ')}) do update set ${updates}`,
    [JSON.stringify(rows)],
  );
}

export async function deleteRows(
  db: Queryable,
  table: string,
  projection: Projection,
  keys: Row[],
) {
  if (keys.length === 0) return;
  await db.query(
    `delete from ${ident(table)} where ctid = any (array(
       select x.ctid from jsonb_populate_recordset(null::${ident(table)}, $1) k
       cross join lateral (select t.ctid from ${ident(table)} t where ${matchKey(projection)} offset 0) x))`,
    [JSON.stringify(keys)],
  );
}
