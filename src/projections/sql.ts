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

/** Insert-or-update of the rows in `$param` (a JSON array), done only `where` a condition holds. */
function upsertSql(table: string, projection: Projection, param: string, where = 'true') {
  const cols = projection.columns.map(ident).join(', ');
  const updates = projection.columns
    .filter((c) => !projection.key.includes(c))
    .map((c) => `${ident(c)} = excluded.${ident(c)}`)
    .join(', ');
  return `insert into ${ident(table)} (${cols})
     select ${cols} from jsonb_populate_recordset(null::${ident(table)}, ${param}) where ${where}
     on conflict (${projection.key.map(ident).join(', ')}) do update set ${updates}`;
}

/** Deletion of the rows whose keys are in `$param`, done only `where` a condition holds. */
function deleteSql(table: string, projection: Projection, param: string, where = 'true') {
  return `delete from ${ident(table)} where ctid = any (array(
       select x.ctid from jsonb_populate_recordset(null::${ident(table)}, ${param}) k
       cross join lateral (select t.ctid from ${ident(table)} t where ${matchKey(projection)} offset 0) x))
     and ${where}`;
}

export async function upsertRows(
  db: Queryable,
  table: string,
  projection: Projection,
  rows: Row[],
) {
  if (rows.length === 0) return;
  await db.query(upsertSql(table, projection, '$1'), [JSON.stringify(rows)]);
}

export async function deleteRows(
  db: Queryable,
  table: string,
  projection: Projection,
  keys: Row[],
) {
  if (keys.length === 0) return;
  await db.query(deleteSql(table, projection, '$1'), [JSON.stringify(keys)]);
}

export interface RowWrites {
  table: string;
  projection: Projection;
  upserts: Row[];
  deletes: Row[];
}

/**
 * The same writes as members of a WITH clause (`name as (…)`), to ride in another statement;
 * each runs only `where` the guard holds. Parameters are numbered from `first`.
 */
export function writeClauses(
  writes: readonly RowWrites[],
  first: number,
  where: string,
): { clauses: string[]; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const param = (value: Row[]) => {
    params.push(JSON.stringify(value));
    return `$${first + params.length - 1}`;
  };
  writes.forEach((w, i) => {
    if (w.upserts.length > 0)
      clauses.push(`up${i} as (${upsertSql(w.table, w.projection, param(w.upserts), where)})`);
    if (w.deletes.length > 0)
      clauses.push(`del${i} as (${deleteSql(w.table, w.projection, param(w.deletes), where)})`);
  });
  return { clauses, params };
}
