/**
 * graphile-worker 0.16 (the last line that runs on Node 20) as the reference queue, driven
 * the same way as boocoder: same database server, same concurrency, default settings.
 */
import { createPool } from '../src/store/db.ts';
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';

const silent = new Logger(() => () => undefined);

export interface GraphileQueue {
  utils: WorkerUtils;
  runner: Runner;
  stop(): Promise<void>;
}

export async function startGraphile(
  connectionString: string,
  concurrency: number,
  noop: (payload: unknown) => void,
): Promise<GraphileQueue> {
  // Our own pool, ended by us: graphile ends a pool it made without waiting, after removing
  // its error handler, so dropping the scratch database right after could crash the bench.
  const pgPool = createPool(connectionString, concurrency + 2);
  const utils = await makeWorkerUtils({ pgPool, logger: silent });
  await utils.migrate();
  const runner = await run({
    pgPool,
    concurrency,
    noHandleSignals: true,
    logger: silent,
    taskList: {
      noop: (payload) => {
        noop(payload);
        return Promise.resolve();
      },
    },
  });
  return {
    utils,
    runner,
    async stop() {
      await runner.stop();
      await utils.release();
      await pgPool.end();
    },
  };
}
