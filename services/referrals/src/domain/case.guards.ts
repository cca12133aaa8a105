import { DomainError } from '@trm/contracts';
import type { CommandMetadata } from './case.commands.js';
import { type CaseState, coordinatorsOf } from './case.state.js';

export function requireCase(state: CaseState): void {
  if (state.status === 'none') throw new DomainError('case-not-found', 'not_found', 'No such case.');
}

/** A closed case refuses every change until it is reopened. */
export function requireOpen(state: CaseState): void {
  if (state.closed) throw new DomainError('case-closed', 'conflict', 'The case is closed: reopen it first.', ['case-closed']);
}

/** The national contact points of the case and the regional centre assigned coordinate it. */
export function requireCoordinator(state: CaseState, meta: CommandMetadata): void {
  if (!coordinatorsOf(state).includes(meta.organisationId)) {
    throw new DomainError('not-the-national-contact-point', 'forbidden', 'Only the national contact point of the case or its regional centre does this.');
  }
}

export function isParticipant(state: CaseState, orgId: string, purpose?: string): boolean {
  return state.participants.some((p) => p.organisationId === orgId && (purpose === undefined || p.purpose === purpose));
}
