import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IllegalStateError } from '../../src/errors.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { serverLikeRuntime } from '../helpers/runtime.ts';

let db: TestDatabase;
let workdir: string;
const at = () => new Date().toISOString();
const TASK = randomUUID();

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 8 });
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-changes-'));
});
afterAll(async () => {
  await fs.rm(workdir, { recursive: true, force: true });
  await db.drop();
});

async function change(id: string) {
  const { rows } = await db.pool.query<{ status: string; reason: string | null }>(
    'select status, reason from pending_changes where id = $1',
    [id],
  );
  const inbox = await db.pool.query<{ details: Record<string, unknown> }>(
    'select details from human_inbox where id = $1',
    [id],
  );
  return { ...rows[0]!, inbox: inbox.rows[0]?.details ?? null };
}

async function propose(
  file: string,
  operation: string,
  before: string | null,
  after: string | null,
) {
  const runtime = serverLikeRuntime(db.pool);
  const id = randomUUID();
  await runtime.send('pending_change', id, {
    type: 'pending_change.proposed',
    task_id: TASK,
    workdir,
    file_path: file,
    operation,
    diff: '…',
    before,
    after,
    at: at(),
  });
  return { id, runtime };
}

const read = (file: string) => fs.readFile(path.join(workdir, file), 'utf8').catch(() => null);

describe('pending changes on disk', () => {
  it('touch nothing until applied; apply writes the file, revert restores it', async () => {
    await fs.mkdir(path.join(workdir, 'src'), { recursive: true });
    await fs.writeFile(path.join(workdir, 'src/a.ts'), 'old\n');
    const { id, runtime } = await propose('src/a.ts', 'edit', 'old\n', 'new\n');
    expect(await read('src/a.ts')).toBe('old\n');
    expect(await change(id)).toMatchObject({
      status: 'pending',
      inbox: { file_path: 'src/a.ts', operation: 'edit' },
    });

    await runtime.send('pending_change', id, { type: 'pending_change.apply_requested', at: at() });
    await runtime.drain();
    expect(await read('src/a.ts')).toBe('new\n');
    expect(await change(id)).toMatchObject({ status: 'applied', reason: null, inbox: null });

    await runtime.send('pending_change', id, { type: 'pending_change.revert_requested', at: at() });
    await runtime.drain();
    expect(await read('src/a.ts')).toBe('old\n');
    expect(await change(id)).toMatchObject({ status: 'reverted' });
  });

  it('report a conflict instead of overwriting a file that changed since, and keep the change waiting', async () => {
    await fs.writeFile(path.join(workdir, 'b.ts'), 'base\n');
    const { id, runtime } = await propose('b.ts', 'edit', 'base\n', 'mine\n');
    await fs.writeFile(path.join(workdir, 'b.ts'), 'someone else\n');
    await runtime.send('pending_change', id, { type: 'pending_change.apply_requested', at: at() });
    await runtime.drain();
    expect(await read('b.ts')).toBe('someone else\n');
    const after = await change(id);
    expect(after.status).toBe('pending');
    expect(after.reason).toMatch(/b.ts changed since the change was made/);
    expect(after.inbox).toMatchObject({ conflict: after.reason });
  });

  it('create and delete files, and reject without touching disk', async () => {
    const created = await propose('new/dir/c.ts', 'create', null, 'hello\n');
    await created.runtime.send('pending_change', created.id, {
      type: 'pending_change.apply_requested',
      at: at(),
    });
    await created.runtime.drain();
    expect(await read('new/dir/c.ts')).toBe('hello\n');

    const deleted = await propose('new/dir/c.ts', 'delete', 'hello\n', null);
    await deleted.runtime.send('pending_change', deleted.id, {
      type: 'pending_change.rejected',
      reason: 'keep it',
      at: at(),
    });
    expect(await read('new/dir/c.ts')).toBe('hello\n');
    expect(await change(deleted.id)).toMatchObject({
      status: 'rejected',
      reason: 'keep it',
      inbox: null,
    });
  });

  it('refuse paths that leave the working directory, by name or through a link', async () => {
    for (const bad of ['../outside.ts', '/etc/passwd', 'a/../../x', '']) {
      const id = randomUUID();
      await expect(
        serverLikeRuntime(db.pool).send('pending_change', id, {
          type: 'pending_change.proposed',
          task_id: TASK,
          workdir,
          file_path: bad,
          operation: 'create',
          diff: '',
          before: null,
          after: 'x',
          at: at(),
        }),
      ).rejects.toBeInstanceOf(IllegalStateError);
      expect(await createEventStore(db.pool).readStream(id)).toEqual([]);
    }
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'boocoder-outside-'));
    await fs.symlink(outside, path.join(workdir, 'link'));
    const { id, runtime } = await propose('link/escape.ts', 'create', null, 'gotcha\n');
    await runtime.send('pending_change', id, { type: 'pending_change.apply_requested', at: at() });
    await runtime.drain();
    expect(await fs.readdir(outside)).toEqual([]);
    expect(await change(id)).toMatchObject({
      status: 'pending',
      reason: expect.stringMatching(/outside the working directory/) as string,
    });
    await fs.rm(outside, { recursive: true, force: true });
  });
});
