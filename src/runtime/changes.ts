/**
 * The effects of the pending-change actor: after an apply or revert request commits, do it
 * on disk and record the outcome (`applied` / `reverted`, or `conflicted` with the reason).
 */
import { applyToDisk, revertOnDisk } from '../adapters/file-changes.ts';
import type { PendingChangeContext } from '../machines/pending-change.ts';
import type { EffectHandler } from './actor-host.ts';

export function changeEffects(now: () => Date = () => new Date()): Record<string, EffectHandler> {
  const run =
    (write: typeof applyToDisk, done: string): EffectHandler =>
    async ({ actor, runtime }) => {
      const outcome = await write(actor.snapshot.context as PendingChangeContext).catch(
        (error: unknown) => ({
          ok: false as const,
          reason: error instanceof Error ? error.message : String(error),
        }),
      );
      await runtime.send(
        'pending_change',
        actor.streamId,
        outcome.ok
          ? { type: done, at: now().toISOString() }
          : { type: 'pending_change.conflicted', reason: outcome.reason, at: now().toISOString() },
      );
    };
  return {
    applyChange: run(applyToDisk, 'pending_change.applied'),
    revertChange: run(revertOnDisk, 'pending_change.reverted'),
  };
}
