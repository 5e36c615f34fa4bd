import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { createSnapshotStore, type SnapshotStore } from '../../src/store/snapshots.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let snapshots: SnapshotStore;

beforeAll(async () => {
  db = await createTestDatabase();
  snapshots = createSnapshotStore(db.pool);
});
afterAll(() => db.drop());

describe('snapshots', () => {
  it('loads the latest snapshot at or below a version, of the same machine version only', async () => {
    const streamId = randomUUID();
    for (const version of [10, 20, 30]) {
      await snapshots.save({
        streamId,
        version,
        machineVersion: 'task@1',
        state: { value: 'running', at: version },
      });
    }
    await snapshots.save({
      streamId,
      version: 25,
      machineVersion: 'task@2',
      state: { value: 'other' },
    });

    expect((await snapshots.load(streamId, 'task@1'))?.version).toBe(30);
    expect((await snapshots.load(streamId, 'task@1', 29))?.state).toEqual({
      value: 'running',
      at: 20,
    });
    expect((await snapshots.load(streamId, 'task@1', 20))?.version).toBe(20);
    expect(await snapshots.load(streamId, 'task@1', 9)).toBeUndefined();
    expect((await snapshots.load(streamId, 'task@2'))?.version).toBe(25);
    expect(await snapshots.load(streamId, 'task@3')).toBeUndefined();
    expect(await snapshots.load(randomUUID(), 'task@1')).toBeUndefined();
  });

  it('keeps the first state saved at a version', async () => {
    const streamId = randomUUID();
    await snapshots.save({ streamId, version: 5, machineVersion: 'm', state: { first: true } });
    await snapshots.save({ streamId, version: 5, machineVersion: 'm', state: { first: false } });
    expect((await snapshots.load(streamId, 'm'))?.state).toEqual({ first: true });
  });

  it('rejects bad snapshots without writing', async () => {
    const streamId = randomUUID();
    await expect(
      snapshots.save({ streamId: 'x', version: 1, machineVersion: 'm', state: {} }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      snapshots.save({ streamId, version: 0, machineVersion: 'm', state: {} }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      snapshots.save({ streamId, version: 1, machineVersion: 'm', state: { n: NaN } }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await snapshots.load(streamId, 'm')).toBeUndefined();
  });
});
