import { describe, expect, it } from 'vitest';
import { factsOf } from './fact-events.js';

/** Issue 17's new events: statistics reads the ones it counts and ignores the others, never fails on them. */
const base = { eventId: '019a0000-0000-7000-8000-00000000001e', recordedAt: '2026-11-20T10:00:00.000Z' };

describe('fact fold of issue 17 events', () => {
  it('counts a claim as paid once CompensationPaid follows the award', () => {
    const out = factsOf({
      ...base,
      service: 'proceedings',
      type: 'CompensationPaid',
      data: { caseId: 'c', criminalCaseId: 'k', claimId: 'claim-1', amount: { amount: '5000.00', currency: 'EUR' }, paidOn: '2026-11-20', recordedBy: 'anitp', recordedAt: base.recordedAt },
    });
    expect(out).toEqual({ kind: 'changes', changes: [{ op: 'update', table: 'compensation_facts', where: { claim_id: 'claim-1' }, set: { paid: true } }] });
  });

  it('counts the duty to inform of an offender\'s release', () => {
    const out = factsOf({
      ...base,
      service: 'proceedings',
      type: 'OffenderReleased',
      data: { caseId: 'c', criminalCaseId: 'k', kind: 'escaped', releasedOn: '2026-11-19', recordedBy: 'police-it', recordedAt: base.recordedAt, dutyId: 'd-1', informDueAt: '2026-11-24T23:59:59.999Z' },
    });
    expect(out.kind === 'changes' && out.changes[0]).toMatchObject({ op: 'insert', table: 'duty_facts', row: { duty_id: 'd-1', kind: 'offender_release' } });
  });

  it('counts no duty for an event recorded after the victim asked not to be informed', () => {
    const data = {
      caseId: 'c', criminalCaseId: 'k', stage: 'trial', previousStage: 'prosecution', changedOn: '2026-11-20', changedBy: 'police-it', changedAt: base.recordedAt,
      source: 'law_enforcement', dutyId: 'd-2', informDueAt: '2026-11-25T23:59:59.999Z',
    };
    const declined = factsOf({ ...base, service: 'proceedings', type: 'StageChanged', data: { ...data, dutyArises: false } });
    expect(declined.kind === 'changes' ? declined.changes : declined).toEqual([]);
    const informed = factsOf({ ...base, service: 'proceedings', type: 'StageChanged', data });
    expect(informed.kind === 'changes' && informed.changes).toHaveLength(1);
  });

  it('counts an unannounced arrival as a return without notification', () => {
    const out = factsOf({
      ...base,
      service: 'repatriation',
      type: 'UnannouncedArrivalRecorded',
      data: {
        caseId: 'c',
        returnId: 'r',
        recordedBy: 'anitp',
        arrivedOn: '2026-11-19',
        pointOfArrival: 'Nadlac border crossing',
        deported: true,
        learntFrom: 'border_police',
        fromCountry: 'HU',
        child: false,
        caseNotifiedAt: '2026-11-10T10:00:00.000Z',
        followUpsDue: [],
        recordedAt: base.recordedAt,
      },
    });
    expect(out.kind === 'changes' && out.changes[0]).toMatchObject({
      op: 'insert',
      table: 'return_facts',
      row: { return_id: 'r', notice_days: 0, late_notification: true, departed: true, arrived_at: '2026-11-19T00:00:00.000Z', days_to_arrival: 8 },
    });
  });

  it('ignores the events it does not count, whatever their data', () => {
    for (const type of ['RiskDisagreementResolved']) expect(factsOf({ ...base, service: 'repatriation', type, data: {} })).toEqual({ kind: 'ignored' });
  });
});
