/** Agent-session events: turns with usage (fractional costs too), crashes, config changes. */
import fc from 'fast-check';
import { at, maybeInvalid, weighted, type Ev } from './common.ts';

const turnId = fc.constantFrom('t1', 't2');
const configHash = fc.constantFrom('h1', 'h2');

export const sessionEvent: fc.Arbitrary<Ev> = fc.oneof(
  weighted(
    1,
    maybeInvalid(
      fc.record({
        type: fc.constant('agent_session.opened'),
        chat_id: fc.uuid(),
        agent: fc.constant('claude'),
        backend: fc.constantFrom('acp_warm', 'pty'),
        config_hash: configHash,
        at,
      }),
    ),
  ),
  weighted(
    1,
    maybeInvalid(
      fc.record({
        type: fc.constant('agent_session.backend_attached'),
        agent_session_id: fc.string({ maxLength: 8 }),
        at,
      }),
      4,
    ),
  ),
  weighted(
    3,
    maybeInvalid(
      fc.record({
        type: fc.constant('agent_session.turn_started'),
        turn_id: turnId,
        config_hash: configHash,
        at,
      }),
    ),
  ),
  weighted(
    3,
    maybeInvalid(
      fc.record({
        type: fc.constant('agent_session.turn_completed'),
        turn_id: turnId,
        input_tokens: fc.nat(100),
        output_tokens: fc.nat(100),
        cost: fc.oneof(fc.nat(10), fc.double({ min: 0, max: 2, noNaN: true })),
        at,
      }),
    ),
  ),
  weighted(
    1,
    maybeInvalid(
      fc.record({
        type: fc.constant('agent_session.crashed'),
        reason: fc.string({ maxLength: 8 }),
        at,
      }),
      4,
    ),
  ),
  weighted(1, fc.record({ type: fc.constant('agent_session.recovered'), at })),
  weighted(1, fc.record({ type: fc.constant('agent_session.closed'), at })),
);

export const sessionHistory: fc.Arbitrary<Ev[]> = fc.array(sessionEvent, {
  maxLength: 40,
  size: 'max',
});
