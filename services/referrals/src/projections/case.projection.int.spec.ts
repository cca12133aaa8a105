import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, notification, startReferralsStack } from '../../../../tests/support/stack.js';
import { findCaseForOrganisation } from '../repositories/case.repository.js';

// The command answers are built from what the command wrote (projectedCaseRecord), not read
// back: they must equal what reading the case back gives, for every reader.
let stack: Stack;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await startReferralsStack();
  tokens.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  tokens.anitp = await stack.token('anitp', ['case_officer']);
});
afterAll(async () => stack?.close());

const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
const read = async (caseId: string, who: string) => stack.app.inject({ url: `/v1/cases/${caseId}`, headers: auth(who) });

describe('command answers built without reading the case back', () => {
  it('POST /v1/cases answers what GET then reads, and the read model holds what was projected', async () => {
    for (const body of [notification(), notification({ person: undefined }), notification({ age: 15 })]) {
      const created = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: { ...auth('ngo'), 'idempotency-key': crypto.randomUUID() }, payload: body });
      expect(created.statusCode).toBe(201);
      const { caseId } = created.json();
      const got = await read(caseId, 'ngo');
      expect(created.json()).toEqual(got.json());
      expect(created.headers.etag).toBe(got.headers.etag);
      const record = await findCaseForOrganisation(stack.db, 'referrals', caseId, 'ngo-it');
      // A child's notification also records child protection joining (ChildProtectionRequested, ParticipantAdded).
      expect(record).toMatchObject({ caseId, version: body.age === 15 ? 3 : 1, status: 'notified', callerPurposes: ['notifier'] });
      expect(await findCaseForOrganisation(stack.db, 'referrals', caseId, 'provider-shelter')).toBeUndefined();
    }
  });

  it('POST /v1/cases/{id}/acknowledgement answers what GET then reads', async () => {
    const { caseId } = (await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: auth('ngo'), payload: notification() })).json();
    const acked = await stack.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/acknowledgement`,
      headers: { ...auth('anitp'), 'if-match': '"1"' },
      payload: { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' },
    });
    expect(acked.statusCode).toBe(200);
    const got = await read(caseId, 'anitp');
    expect(acked.json()).toEqual(got.json());
    expect(acked.headers.etag).toBe(got.headers.etag);
    expect(acked.json()).toMatchObject({ status: 'acknowledged', version: 2 });
    expect(acked.json().participants).toContainEqual({ organisationId: 'anitp-rc-bucharest', purpose: 'regional_centre' });
  });
});
