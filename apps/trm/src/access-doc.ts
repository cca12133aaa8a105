/**
 * Writes docs/ACCESS.md from the access matrix (packages/contracts/src/access-matrix.ts):
 * `--write` stores it, `--check` exits 1 when the committed file differs from the matrix, no
 * argument prints it. The routes of the running app are checked against the same matrix by
 * tests/security-matrix-purposes.int.spec.ts, so this page is what the code does.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AccessPurpose,
  type AccessService,
  CASE_FIELDS,
  CASE_TIMELINE,
  CASE_VIEW_OF,
  type CaseViewName,
  type FieldCell,
  fieldMask,
  maskShows,
  PURPOSE_DESCRIPTIONS,
  RETURN_FIELDS,
  RETURN_TIMELINE,
  ROUTES,
  type RouteAccessEntry,
  WEBHOOK_PAYLOAD_FIELDS,
  WEBHOOK_RECIPIENTS,
  WORKS_WITH_RULE,
} from '@trm/contracts';

export const ACCESS_DOC_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/ACCESS.md');

const PURPOSES = AccessPurpose.options;
const SERVICES: Array<[AccessService, string]> = [
  ['platform', 'platform (every service)'],
  ['registry', 'organisation registry'],
  ['referrals', 'referrals'],
  ['repatriation', 'repatriation'],
  ['proceedings', 'proceedings'],
  ['ledger', 'ledger'],
  ['statistics', 'statistics'],
  ['webhooks', 'webhooks'],
];

const esc = (s: string) => s.replace(/\|/g, '\\|');
const row = (cells: string[]) => `| ${cells.map(esc).join(' | ')} |`;
const header = (first: string) => [row([first, 'roles', 'organisation types', ...PURPOSES.map((p) => p.replace(/_/g, ' ')), 'note']), row(['---', '---', '---', ...PURPOSES.map(() => ':-:'), '---'])];

const CELL: Record<FieldCell, string> = { yes: '✓', 'works-with': 'works with', own: 'own' };

function routeRow(key: string, e: RouteAccessEntry): string {
  const route = `\`${key}\``;
  if (e.public) return row([route, 'anyone, no token', '', ...PURPOSES.map(() => ''), e.note ?? '']);
  const roles = (e.roles ?? []).join(', ') + (e.registryOperator ? ' (registry operator only)' : '');
  const types = e.orgTypes?.join(', ') ?? 'any';
  const cells = e.purposes ? PURPOSES.map((p) => (e.purposes!.includes(p) ? '✓' : '—')) : PURPOSES.map(() => '');
  const note = [e.purposes ? '' : 'not about one case', e.view ? `answer: ${VIEW_NAMES[e.view]}` : '', e.note ?? ''].filter(Boolean).join('; ');
  return row([route, roles, types, ...cells, note]);
}

const VIEW_NAMES: Record<NonNullable<RouteAccessEntry['view']>, string> = {
  case: 'the case view',
  return: 'the return view',
  returnDetail: 'the return view with its timeline',
  returnList: 'return views',
  caseTimeline: 'the case timeline',
};

/** The case view a purpose alone gets. */
const caseViewOfPurpose = (p: AccessPurpose): CaseViewName => CASE_VIEW_OF.find(([x]) => x === p)?.[1] ?? 'participant';

function caseFieldRows(): string[] {
  return CASE_FIELDS.map((f) => row([`case view: \`${f.path}\``, '', '', ...PURPOSES.map((p) => { const c = f.cells[caseViewOfPurpose(p)]; return c ? CELL[c] : '—'; }), f.note ?? '']));
}

function caseTimelineRows(): string[] {
  return Object.entries(CASE_TIMELINE).map(([type, cells]) => row([`timeline: ${type}`, '', '', ...PURPOSES.map((p) => cells[p] ?? '—'), '']));
}

function returnFieldRows(): string[] {
  return RETURN_FIELDS.map((f) => row([`return: \`${f.path}\``, '', '', ...PURPOSES.map((p) => { const c = f.cells[p]; return c ? CELL[c] : '—'; }), f.note ?? '']));
}

function returnTimelineRows(): string[] {
  return Object.entries(RETURN_TIMELINE).map(([type, field]) =>
    row([`return timeline: ${type}`, '', '', ...PURPOSES.map((p) => (maskShows(fieldMask(RETURN_FIELDS, [p]), field) ? '✓' : '—')), `shown with \`${field}\``]),
  );
}

export function generateAccessDoc(): string {
  const out: string[] = [
    '# Access matrix',
    '',
    '<!-- Generated from packages/contracts/src/access-matrix.ts by `node apps/trm/dist/access-doc.js --write` (make access-doc). Do not edit: tests/access-doc.spec.ts fails when this file and the matrix differ. -->',
    '',
    'Who may call every route of TRM and which fields of the per-purpose answers each purpose sees. The routes take their',
    '`config.access` from this matrix or are checked against it, the views cut their answers with it, and',
    '`tests/security-matrix-purposes.int.spec.ts` attacks every route of the running app with a participant of each purpose,',
    'a removed participant and an outsider, and checks every field it gets back against it.',
    '',
    'A caller needs one of the **roles** (from its token) and an **organisation type** listed (from the registry); on a route',
    'about one case its organisation must also take part in the case with one of the **purposes** marked ✓. An organisation',
    'that does not take part gets `404`, as if the case did not exist; a participant whose purposes are not marked gets `403`',
    '(or `404` where the thing does not exist for its purpose: a return for law enforcement that is not its escort).',
    'A caller holding several purposes sees what any of them sees (the case view: the view of its first purpose in the order',
    `${CASE_VIEW_OF.map(([p, v]) => `${p} → ${v}`).join(', ')}, any other → participant).`,
    '',
    'Cells of fields: ✓ shown; **own** only the rows that concern the caller; **works with** only organisations the caller',
    'works with (below); — never. Cells of timelines: **all** the entry with its details; **entry** its type and time only;',
    '**related** the entry with its details when it concerns the caller (its referral, a request or consent addressed to it, a',
    'participant it works with, a deadline it must meet), otherwise nothing; **related-entry** details when related, the',
    'entry alone otherwise; — nothing. A participant always sees its own acts in full, and the acting organisation of an',
    'entry only when it works with it; only the coordinating contact point sees the user who acted and the reads of personal data.',
    '',
    '## Purposes',
    '',
    row(['purpose', 'who']),
    row(['---', '---']),
    ...PURPOSES.map((p) => row([`\`${p}\``, PURPOSE_DESCRIPTIONS[p]])),
    '',
    '## Who works with whom',
    '',
    'Participant lists and timelines name only the organisations the caller works with:',
    '',
    ...WORKS_WITH_RULE.map((r) => `- ${r};`),
    '',
  ];
  for (const [service, title] of SERVICES) {
    const keys = Object.entries(ROUTES).filter(([, e]) => e.service === service);
    if (keys.length === 0) continue;
    out.push(`## ${title}`, '', ...header('route or field'), ...keys.map(([k, e]) => routeRow(k, e)));
    if (service === 'referrals') out.push(...caseFieldRows(), ...caseTimelineRows());
    if (service === 'repatriation') out.push(...returnFieldRows(), ...returnTimelineRows());
    if (service === 'webhooks') {
      out.push('', `Notifications carry only \`${WEBHOOK_PAYLOAD_FIELDS.join('`, `')}\` (never event data or personal data: the partner reads through the routes above). Who is notified of an event:`, '', ...WEBHOOK_RECIPIENTS.map((r) => `- ${r};`));
    }
    out.push('');
    if (service !== 'referrals' && service !== 'repatriation') out.push('Answers: every field of the response schema (openapi/openapi.json), for whoever may call the route.', '');
  }
  return `${out.join('\n')}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const doc = generateAccessDoc();
  if (process.argv.includes('--write')) {
    await writeFile(ACCESS_DOC_FILE, doc);
    process.stdout.write(`wrote ${path.relative(process.cwd(), ACCESS_DOC_FILE)}\n`);
  } else if (process.argv.includes('--check')) {
    const committed = await readFile(ACCESS_DOC_FILE, 'utf8').catch(() => '');
    if (committed !== doc) {
      process.stderr.write('docs/ACCESS.md is out of date: run `make access-doc` and commit it\n');
      process.exit(1);
    }
    process.stdout.write('docs/ACCESS.md is up to date\n');
  } else {
    process.stdout.write(doc);
  }
}
