import { ConcurrencyError, createEventStore } from '@trm/event-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, notification, startReferralsStack } from '../../../../tests/support/stack.js';
import { createCaseDecider } from '../domain/case.decider.js';
import { findCaseForOrganisation } from '../repositories/case.repository.js';
import { runCaseCommand } from './case.handler.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startReferralsStack();
});
afterAll(async () => stack?.close());

describe('a new case stream (expected version no_stream)', () => {
  it('is appended without a lock or a read, and refused (ConcurrencyError, nothing written) if the stream exists', async () => {
    const caseId = crypto.randomUUID();
    const ctx = { store: createEventStore({ schema: 'referrals' }), decider: createCaseDecider(), schema: 'referrals' };
    const now = stack.clock.now;
    const { person: _person, age: _age, ...body } = notification() as Record<string, never>;
    const command = {
      type: 'NotifyCase' as const,
      data: { caseId, ...body, ageAtIdentification: 30, birthYear: null, plannedReturnDate: null, addressee: { id: 'anitp', type: 'national_contact_point', country: 'RO', parentOrgId: null, active: true }, personalDataFields: [] },
      metadata: { now, actor: 'tester', organisationId: 'ngo-it', organisationType: 'ngo' as const },
    };
    const metadata = { actor: 'tester', organisation: 'ngo-it', correlationId: 'c', causationId: null, requestId: 'r' };
    const first = await stack.db.transaction().execute((tx) => runCaseCommand(ctx, tx, caseId, command as never, 'no_stream', metadata));
    expect(first.version).toBe(first.events.length);
    const loaded = await ctx.store.aggregateStream(stack.db, `case-${caseId}`, ctx.decider);
    expect(first.state).toEqual(loaded.state);
    expect(await findCaseForOrganisation(stack.db, 'referrals', caseId, 'ngo-it')).toMatchObject({ caseId, version: first.version });

    const again = stack.db.transaction().execute((tx) => runCaseCommand(ctx, tx, caseId, command as never, 'no_stream', metadata));
    await expect(again).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await ctx.store.readStream(stack.db, `case-${caseId}`)).length).toBe(first.events.length);
  });
});
