/** Pending-change events: proposals inside and outside their workdir, requests and outcomes. */
import fc from 'fast-check';
import { at, maybeInvalid, weighted, type Ev } from './common.ts';

const content = fc.option(fc.string({ maxLength: 8 }), { nil: null });

export const changeEvent: fc.Arbitrary<Ev> = fc.oneof(
  weighted(
    2,
    maybeInvalid(
      fc.record(
        {
          type: fc.constant('pending_change.proposed'),
          task_id: fc.uuid(),
          session_id: fc.option(fc.uuid(), { nil: null }),
          workdir: fc.constantFrom('/srv/p', 'relative'),
          file_path: fc.constantFrom(
            'a.ts',
            'src/b.ts',
            './c.ts',
            '../x.ts',
            '/etc/passwd',
            'a/../../y',
            'a/..',
          ),
          operation: fc.constantFrom('create', 'edit', 'delete'),
          diff: fc.string({ maxLength: 8 }),
          before: content,
          after: content,
          agent: fc.constantFrom('claude', null),
          at,
        },
        {
          requiredKeys: [
            'type',
            'task_id',
            'workdir',
            'file_path',
            'operation',
            'diff',
            'before',
            'after',
            'at',
          ],
        },
      ),
    ),
  ),
  weighted(3, fc.record({ type: fc.constant('pending_change.apply_requested'), at })),
  weighted(3, fc.record({ type: fc.constant('pending_change.applied'), at })),
  weighted(
    2,
    maybeInvalid(
      fc.record({
        type: fc.constant('pending_change.conflicted'),
        reason: fc.string({ maxLength: 8 }),
        at,
      }),
    ),
  ),
  weighted(
    1,
    maybeInvalid(
      fc.record({ type: fc.constant('pending_change.rejected'), reason: content, at }),
      2,
    ),
  ),
  weighted(3, fc.record({ type: fc.constant('pending_change.revert_requested'), at })),
  weighted(2, fc.record({ type: fc.constant('pending_change.reverted'), at })),
);

const validProposal: Ev = {
  type: 'pending_change.proposed',
  task_id: '11111111-1111-4111-8111-111111111111',
  workdir: '/srv/p',
  file_path: 'src/a.ts',
  operation: 'edit',
  diff: '-a\n+b',
  before: 'a\n',
  after: 'b\n',
  at: '2026-01-01T00:00:00.000Z',
};

/** Mostly a valid proposal first, so review is what gets searched; sometimes anything. */
export const changeHistory: fc.Arbitrary<Ev[]> = fc.oneof(
  weighted(
    3,
    fc.array(changeEvent, { maxLength: 40, size: 'max' }).map((rest) => [validProposal, ...rest]),
  ),
  weighted(1, fc.array(changeEvent, { maxLength: 40, size: 'max' })),
);
