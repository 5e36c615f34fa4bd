/**
 * graphile-worker 0.16 (the last line that runs on Node 20) as the reference queue, driven
 * the same way as boocoder: same database server, same concurrency, default settings.
 */
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
  const utils = await makeWorkerUtils({ connectionString, logger: silent });
  await utils.migrate();
  const runner = await run({
    connectionString,
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
    },
  };
}
