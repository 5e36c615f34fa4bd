/**
 * replay: events/s folded through the task machine in-process (no database) by the fold the
 * runtime uses, against xstate's plain `transition()` loop over the same events; the two
 * must end in identical snapshots.
 */
import { transition } from 'xstate';
import { task } from '../../src/machines/index.ts';
import { fold, initialSnapshot, toMachineEvent } from '../../src/runtime/replay.ts';
import { history, taskCommands } from '../fixtures.ts';
import { median, round, spread, type BenchContext, type ScenarioResult } from '../lib.ts';

export function replayScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const events = history('task', taskCommands(ctx.quick ? 5_000 : 20_000)).events.map((e) => ({
    type: e.type,
    data: e.data,
  }));
  const runs = ctx.quick ? 3 : 5;
  const plain = () => {
    let s = initialSnapshot(task);
    for (const e of events)
      s = transition(task.machine, s as never, toMachineEvent(e) as never)[0] as never;
    return s;
  };
  const ours = () => fold(task, events);
  const identical =
    JSON.stringify(plain().context) === JSON.stringify(ours().context) &&
    plain().value === ours().value;
  const time = (fn: () => unknown) => {
    const t = performance.now();
    fn();
    return events.length / ((performance.now() - t) / 1000);
  };
  time(ours);
  time(plain);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(time(ours));
    b.push(time(plain));
  }
  const ratio = median(a) / median(b);
  return Promise.resolve({
    json: {
      replay: {
        events_per_s: round(median(a), 0),
        xstate_events_per_s: round(median(b), 0),
        ratio_to_xstate: round(ratio, 3),
        identical_snapshots: identical,
        spread_pct: round(spread(a), 1),
      },
    },
    lines: [
      {
        metric: 'replay (events/s, in-process)',
        value: round(median(a), 0).toLocaleString('en'),
        reference: `xstate transition() ${round(median(b), 0).toLocaleString('en')}`,
        ratio: `${round(ratio, 2)}×${identical ? '' : ' (snapshots differ!)'}`,
        spread: `±${round(spread(a), 1)}%`,
        goal: '≥ 10×',
      },
    ],
  });
}
