import { registerProblemCodes } from '@trm/platform';

/** The ledger's refusals: stable codes, described at /problems/<code>. */
export function registerLedgerProblems(): void {
  registerProblemCodes({
    'ledger-head-not-found': {
      status: 404,
      title: 'No signed tree head',
      description: 'No tree head has been signed yet (the ledger signs its first head within one signing interval of starting), or none for this tree size.',
    },
    'ledger-entry-not-found': { status: 404, title: 'No such ledger entry', description: 'No entry has this ledger index or event id (yet: events reach the ledger shortly after they are recorded).' },
    'invalid-ledger-range': {
      status: 422,
      title: 'Invalid ledger range',
      description:
        'The requested range or tree sizes do not fit the ledger. `unmet` lists every condition: from-after-to, to-beyond-ledger, index-beyond-tree-size, first-after-second, tree-size-beyond-ledger, as-of-required, as-of-ambiguous.',
    },
    'ledger-access-denied': {
      status: 403,
      title: 'Ledger is for auditors and national contact points',
      description: 'Only organisations of type auditor or national_contact_point read the ledger.',
    },
  });
}
