/**
 * The insurer's policies from a CSV export (`POST /api/calls/policies/import`), read with the same tolerance
 * as the dossier files (`platform/csv.ts`: encodings, delimiters, header aliases); a bad row is rejected with
 * its line and a reason naming the column, and the good rows are kept.
 */
import { z } from 'zod';
import {
  aliasLookup,
  quotedList,
  readCsvTable,
  type CsvDelimiter,
  type CsvEncoding,
  type HeaderAliases,
  type RowReader,
} from '../platform/csv';
import { foldText } from '../platform/text';
import { isoDate, normalisePhone } from './formats';

export const POLICY_STATUSES = ['active', 'lapsed', 'cancelled', 'pending'] as const;
export type PolicyStatus = (typeof POLICY_STATUSES)[number];

export interface Policy {
  /** Upper-cased, `[A-Z0-9-]{3,40}`, unique in the file. */
  policyNumber: string;
  holderName: string;
  /** YYYY-MM-DD. */
  dateOfBirth: string;
  /** Empty when the file has none (as for product and coverage). */
  postalCode: string;
  email: string;
  /** E.164 when it can be normalised (French numbers as +33…), else as written; empty when none. */
  phone: string;
  product: string;
  status: PolicyStatus;
  coverage: string;
  /** Euros per year. */
  premium: number;
  /** YYYY-MM-DD. */
  renewalDate: string;
  /** The file line the row starts on (the header is line 1). */
  line: number;
}

export interface PolicyImport {
  policies: Policy[];
  rejected: { line: number; reason: string }[];
  encoding: CsvEncoding;
  delimiter: CsvDelimiter;
}

/** Columns: the policy's fields, and first name / last name, which make the holder's name when it has no column. */
type PolicyColumn = Exclude<keyof Policy, 'line'> | 'firstName' | 'lastName';

export const POLICY_HEADER_ALIASES: Record<PolicyColumn, HeaderAliases> = {
  policyNumber: [
    'policyNumber',
    'n° de contrat',
    'n° contrat',
    'numéro de contrat',
    'contrat',
    'numéro de police',
    'n° de police',
    'police',
    'policy number',
    'policy_number',
    'policy no',
    'policy',
  ],
  holderName: [
    'holderName',
    "nom de l'assuré",
    'assuré',
    'souscripteur',
    'nom complet',
    'holder',
    'holder name',
    'holder_name',
    'policyholder',
    'name',
    'full name',
  ],
  firstName: ['prénom', 'first name', 'firstname'],
  lastName: ['nom', 'nom de famille', 'last name', 'lastname'],
  dateOfBirth: [
    'dateOfBirth',
    'date de naissance',
    'né(e) le',
    'né le',
    'née le',
    'naissance',
    'dob',
    'date of birth',
    'date_of_birth',
    'birth date',
    'birthdate',
  ],
  postalCode: [
    'postalCode',
    'code postal',
    'cp',
    'zip',
    'zip code',
    'postal code',
    'postal_code',
    'postcode',
  ],
  email: ['email', 'e-mail', 'courriel', 'mail', 'adresse e-mail', 'adresse email', 'email address'],
  phone: [
    'phone',
    'téléphone',
    'tel',
    'tél',
    'tél.',
    'numéro de téléphone',
    'mobile',
    'portable',
    'phone number',
  ],
  product: ['product', 'produit', 'formule', 'offre'],
  status: ['status', 'statut', 'état', 'state'],
  coverage: ['coverage', 'garanties', 'garantie', 'couverture', 'cover'],
  premium: [
    'premium',
    'prime',
    'prime annuelle',
    'prime ttc',
    'cotisation',
    'cotisation annuelle',
    'annual premium',
  ],
  renewalDate: [
    'renewalDate',
    'échéance',
    "date d'échéance",
    'date de renouvellement',
    'renouvellement',
    'renewal date',
    'renewal_date',
    'renewal',
  ],
};

const HEADERS = aliasLookup(POLICY_HEADER_ALIASES);

/** Columns a file must have, as their cells are required. */
const REQUIRED_COLUMNS = [
  'policyNumber',
  'holderName',
  'dateOfBirth',
  'email',
  'status',
  'premium',
  'renewalDate',
] as const;

/**
 * Reads a policies export. A file that cannot be used (empty, too large, not CSV, a required column missing)
 * throws an `InvalidInputError` (code `invalid_csv`) for the field `file`, naming the file; `today` bounds
 * the dates of birth.
 */
export function parsePolicyCsv(bytes: Uint8Array, fileName: string, today: Date = new Date()): PolicyImport {
  const table = readCsvTable(bytes, { file: fileName, field: 'file', headers: HEADERS, utf16: 'decode' });
  const missing = missingColumns(table.hasColumn);
  if (missing.length > 0) throw table.fail(missing.join('; '));

  const todayIso = today.toISOString().slice(0, 10);
  const policies: Policy[] = [];
  const rejected: PolicyImport['rejected'] = [];
  const firstLines = new Map<string, number>();
  for (const row of table.rows) {
    const outcome = row.shapeProblem ?? toPolicy(row, todayIso);
    if (typeof outcome === 'string') {
      rejected.push({ line: row.line, reason: outcome });
      continue;
    }
    // The first line of a policy number wins; a later one would silently replace it on import.
    const firstLine = firstLines.get(outcome.policyNumber);
    if (firstLine !== undefined) {
      rejected.push({
        line: row.line,
        reason: `policyNumber: ${shown(outcome.policyNumber)} is already on line ${firstLine}`,
      });
      continue;
    }
    firstLines.set(outcome.policyNumber, row.line);
    policies.push(outcome);
  }
  return { policies, rejected, encoding: table.encoding, delimiter: table.delimiter };
}

function missingColumns(hasColumn: (column: PolicyColumn) => boolean): string[] {
  return REQUIRED_COLUMNS.flatMap((column) => {
    const expected = `missing column "${column}": expected one of ${quotedList(POLICY_HEADER_ALIASES[column])}`;
    if (column !== 'holderName') return hasColumn(column) ? [] : [expected];
    // A last name column (with or without a first name one) makes the holder's name too.
    const { firstName, lastName } = POLICY_HEADER_ALIASES;
    return hasColumn(column) || hasColumn('lastName')
      ? []
      : [`${expected}, or "${firstName[0]}"/"${lastName[0]}"`];
  });
}

// ---------------------------------------------------------------------------------------------------------
// Rows

type Cell<T> = { ok: true; value: T } | { ok: false; problem: string };
type CellValues<C> = { [K in keyof C]: C[K] extends Cell<infer V> ? V : never };

const ok = <T>(value: T): Cell<T> => ({ ok: true, value });
const problem = (text: string): Cell<never> => ({ ok: false, problem: text });
const MISSING = problem('missing');

/** The policy, or the reason it is rejected: every column's problem, `column: problem`, joined by `; `. */
function toPolicy(row: RowReader<PolicyColumn>, today: string): Policy | string {
  const cells = {
    policyNumber: policyNumberOf(row.text('policyNumber')),
    holderName: holderNameOf(row),
    dateOfBirth: birthDateOf(row.text('dateOfBirth'), today),
    postalCode: ok(row.text('postalCode') ?? ''),
    email: emailOf(row.text('email')),
    phone: ok(normalisePhone(row.text('phone') ?? '')),
    product: ok(row.text('product') ?? ''),
    status: statusOf(row.text('status')),
    coverage: ok(row.text('coverage') ?? ''),
    premium: premiumOf(row.text('premium')),
    renewalDate: dateOf(row.text('renewalDate')),
  };
  const problems = Object.entries<Cell<unknown>>(cells).flatMap(([column, cell]) =>
    cell.ok ? [] : [`${column}: ${cell.problem}`],
  );
  if (problems.length > 0) return problems.join('; ');
  const values = Object.fromEntries(
    Object.entries<Cell<unknown>>(cells).map(([column, cell]) => [column, cell.ok ? cell.value : undefined]),
  ) as CellValues<typeof cells>;
  return { ...values, line: row.line };
}

/** A cell as a reason quotes it: in quotes, cut short when long. */
function shown(cell: string): string {
  return JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell);
}

function policyNumberOf(cell: string | undefined): Cell<string> {
  if (cell === undefined) return MISSING;
  const policyNumber = cell.toUpperCase();
  return /^[A-Z0-9-]{3,40}$/.test(policyNumber)
    ? ok(policyNumber)
    : problem(`${shown(cell)} is not a policy number (3 to 40 letters, digits or dashes)`);
}

function holderNameOf(row: RowReader<PolicyColumn>): Cell<string> {
  const name =
    row.text('holderName') ??
    [row.text('firstName'), row.text('lastName')].filter((part) => part !== undefined).join(' ');
  return name === '' ? MISSING : ok(name.replace(/\s+/g, ' '));
}

// The oldest plausible holder: earlier years are typing mistakes (1895 for 1985).
const OLDEST_BIRTH_DATE = '1900-01-01';

function birthDateOf(cell: string | undefined, today: string): Cell<string> {
  if (cell === undefined) return MISSING;
  const date = dateOf(cell);
  if (!date.ok) return date;
  if (date.value >= today) return problem(`${shown(cell)} is not in the past`);
  if (date.value < OLDEST_BIRTH_DATE) return problem(`${shown(cell)} is before 1900`);
  return date;
}

function dateOf(cell: string | undefined): Cell<string> {
  if (cell === undefined) return MISSING;
  const date = isoDate(cell);
  return date === undefined ? problem(`${shown(cell)} is not a date`) : ok(date);
}

const emailSchema = z.email();

function emailOf(cell: string | undefined): Cell<string> {
  if (cell === undefined) return MISSING;
  return emailSchema.safeParse(cell).success ? ok(cell) : problem(`${shown(cell)} is not an e-mail address`);
}

/** The words exports use for each status, compared case- and accent-insensitively. */
const STATUS_WORDS: Record<PolicyStatus, readonly string[]> = {
  active: ['active', 'actif', 'en cours', 'en vigueur', 'in force'],
  lapsed: ['lapsed', 'suspendu', 'suspendue', 'impayé', 'impayée', 'suspended', 'unpaid'],
  cancelled: ['cancelled', 'canceled', 'résilié', 'résiliée', 'annulé', 'annulée', 'terminated'],
  pending: ['pending', 'en attente'],
};

const STATUS_BY_WORD: ReadonlyMap<string, PolicyStatus> = new Map(
  POLICY_STATUSES.flatMap((status) => STATUS_WORDS[status].map((word) => [foldText(word), status] as const)),
);

function statusOf(cell: string | undefined): Cell<PolicyStatus> {
  if (cell === undefined) return MISSING;
  const status = STATUS_BY_WORD.get(foldText(cell).replace(/\s+/g, ' '));
  return status === undefined
    ? problem(
        `${shown(cell)} is not a status: active, lapsed, cancelled or pending ` +
          '(or actif, en cours, suspendu, impayé, résilié, en attente)',
      )
    : ok(status);
}

function premiumOf(cell: string | undefined): Cell<number> {
  if (cell === undefined) return MISSING;
  const amount = euros(cell);
  return amount === undefined ? problem(`${shown(cell)} is not an amount in euros`) : ok(amount);
}

// Three-digit groups only ("1.234", "1,234,567"): thousands, since premiums have cents, not thousandths.
const THOUSANDS_ONLY = /^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$/;
const AMOUNT =
  /^(?<units>\d+|\d{1,3}(?<group>[.,])\d{3}(?:\k<group>\d{3})*)(?:(?<point>[.,])(?<cents>\d{1,2}))?$/;

/**
 * An amount as French and English exports write it: `1 234,56`, `1234.56`, `1 234,56 €`, `1.234,56`,
 * `1,234.56`, `EUR 412.80`; the thousands separator, when there is one, is not the decimal one.
 */
function euros(cell: string): number | undefined {
  const compact = cell.replace(/€|eur(?:os?)?/gi, '').replace(/[\s']/g, '');
  if (THOUSANDS_ONLY.test(compact)) return Number(compact.replace(/[.,]/g, ''));
  const groups = AMOUNT.exec(compact)?.groups;
  if (groups?.units === undefined || (groups.group !== undefined && groups.group === groups.point)) {
    return undefined;
  }
  return Number(`${groups.units.replace(/[.,]/g, '')}.${groups.cents ?? '0'}`);
}
