import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicyCsv, POLICY_HEADER_ALIASES, type Policy } from '../../functions/calls/policyCsv';
import { InvalidInputError } from '../../functions/platform/errors';
import { foldText } from '../../functions/platform/text';

const SAMPLE = path.resolve(__dirname, '../../samples/insurer/policies.csv');
const TODAY = new Date('2026-06-01T09:00:00Z');

const COLUMNS = [
  'policyNumber',
  'holderName',
  'dateOfBirth',
  'postalCode',
  'email',
  'phone',
  'product',
  'status',
  'coverage',
  'premium',
  'renewalDate',
] as const;
type Column = (typeof COLUMNS)[number];

const CAMILLE: Record<Column, string> = {
  policyNumber: 'HAB-2024-0042',
  holderName: 'Camille Laurent',
  dateOfBirth: '12/03/1985',
  postalCode: '69003',
  email: 'camille.laurent@example.org',
  phone: '06 12 34 56 78',
  product: 'habitation',
  status: 'Actif',
  coverage: 'Multirisque habitation',
  premium: '312,00',
  renewalDate: '01/04/2027',
};

const CAMILLE_POLICY: Policy = {
  policyNumber: 'HAB-2024-0042',
  holderName: 'Camille Laurent',
  dateOfBirth: '1985-03-12',
  postalCode: '69003',
  email: 'camille.laurent@example.org',
  phone: '+33612345678',
  product: 'habitation',
  status: 'active',
  coverage: 'Multirisque habitation',
  premium: 312,
  renewalDate: '2027-04-01',
  line: 2,
};

/** A `;` file with the field names as headers: one row per entry, Camille's values where it says nothing. */
function policiesFrom(rows: Partial<Record<Column, string>>[]) {
  const lines = [COLUMNS.join(';'), ...rows.map((row) => COLUMNS.map((c) => row[c] ?? CAMILLE[c]).join(';'))];
  return parsePolicyCsv(Buffer.from(lines.join('\r\n'), 'utf8'), 'policies.csv', TODAY);
}

/** The reason the single row of a file is rejected. */
function rejection(row: Partial<Record<Column, string>>): string | undefined {
  return policiesFrom([row]).rejected[0]?.reason;
}

function fileError(bytes: Uint8Array): InvalidInputError {
  try {
    parsePolicyCsv(bytes, 'policies.csv', TODAY);
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

// Windows-1252 has bytes for the characters Latin-1 lacks; these are the ones the tests write.
const CP1252_EXTRAS: Record<string, number> = { '€': 0x80, '’': 0x92, '–': 0x96, œ: 0x9c };

function windows1252(text: string): Buffer {
  return Buffer.from([...text].map((char) => CP1252_EXTRAS[char] ?? char.charCodeAt(0)));
}

describe('the sample insurer', () => {
  const parsed = parsePolicyCsv(readFileSync(SAMPLE), 'policies.csv', TODAY);

  it('imports its 25 policies and rejects its 2 bad rows by line', () => {
    expect(parsed).toMatchObject({ encoding: 'utf-8', delimiter: ';' });
    expect(parsed.policies).toHaveLength(25);
    expect(parsed.rejected).toEqual([
      { line: 10, reason: 'dateOfBirth: "31/02/1980" is not a date' },
      { line: 21, reason: 'policyNumber: missing' },
    ]);
  });

  it('holds the policy the end-to-end test verifies, and every status', () => {
    expect(parsed.policies.find((p) => p.policyNumber === 'HAB-2024-0042')).toEqual({
      ...CAMILLE_POLICY,
      coverage: 'Multirisque habitation : incendie, dégât des eaux, vol, responsabilité civile vie privée',
    });
    expect(new Set(parsed.policies.map((p) => p.status))).toEqual(
      new Set(['active', 'lapsed', 'cancelled', 'pending']),
    );
    expect(new Set(parsed.policies.map((p) => p.product))).toEqual(
      new Set(['auto', 'habitation', 'santé', 'prévoyance']),
    );
  });
});

describe('parsePolicyCsv: encodings, delimiters and headers', () => {
  it('reads Windows-1252 with accents and the characters Latin-1 lacks', () => {
    const csv = [
      'N° de contrat;Nom de l’assuré;Né(e) le;CP;Courriel;Tél.;Formule;État;Couverture;Cotisation;Date d’échéance',
      'sant-2024-0007;Hélène Dubœuf;05/10/1962;29200;helene.duboeuf@example.net;06.39.98.10.50;Santé;Résiliée;' +
        'Hospitalisation, optique – niveau 2;412,80 €;01/01/2027',
    ].join('\r\n');
    const parsed = parsePolicyCsv(windows1252(csv), 'contrats.csv', TODAY);
    expect(parsed).toMatchObject({ encoding: 'windows-1252', delimiter: ';', rejected: [] });
    expect(parsed.policies).toEqual([
      {
        policyNumber: 'SANT-2024-0007',
        holderName: 'Hélène Dubœuf',
        dateOfBirth: '1962-10-05',
        postalCode: '29200',
        email: 'helene.duboeuf@example.net',
        phone: '+33639981050',
        product: 'Santé',
        status: 'cancelled',
        coverage: 'Hospitalisation, optique – niveau 2',
        premium: 412.8,
        renewalDate: '2027-01-01',
        line: 2,
      },
    ]);
  });

  it('reads a `,` file with English headers, quoted cells and international numbers', () => {
    const csv = [
      'Policy Number,Holder,DOB,Zip,Email,Phone,Product,Status,Coverage,Premium,Renewal Date',
      'AUTO-2025-0100,Jane Doe,1990-07-04,94105,jane.doe@example.com,+1 415 555 0123,auto,Active,' +
        '"Fire, theft, third party","1,234.56",2027-07-04',
    ].join('\n');
    const parsed = parsePolicyCsv(Buffer.from(csv), 'policies.csv', TODAY);
    expect(parsed).toMatchObject({ encoding: 'utf-8', delimiter: ',', rejected: [] });
    expect(parsed.policies[0]).toMatchObject({
      holderName: 'Jane Doe',
      dateOfBirth: '1990-07-04',
      phone: '+14155550123',
      status: 'active',
      coverage: 'Fire, theft, third party',
      premium: 1234.56,
    });
  });

  it('reads UTF-16 with its BOM, tab-delimited (Excel "Unicode Text"), with the field names as headers', () => {
    const lines = [COLUMNS.join('\t'), COLUMNS.map((c) => CAMILLE[c]).join('\t')];
    const parsed = parsePolicyCsv(
      Buffer.from(`\ufeff${lines.join('\r\n')}`, 'utf16le'),
      'policies.txt',
      TODAY,
    );
    expect(parsed).toMatchObject({ encoding: 'utf-16le', delimiter: '\t', policies: [CAMILLE_POLICY] });
  });

  it('builds the holder name from first and last name columns', () => {
    const csv = [
      'Contrat;Prénom;Nom;Date de naissance;E-mail;Statut;Prime;Échéance',
      'HAB-2024-0042;Camille;Laurent;12/03/1985;camille.laurent@example.org;actif;312;01/04/2027',
    ].join('\n');
    const [policy] = parsePolicyCsv(Buffer.from(csv), 'policies.csv', TODAY).policies;
    expect(policy).toMatchObject({ holderName: 'Camille Laurent', phone: '', postalCode: '', coverage: '' });
  });

  it('gives each header alias to one column only', () => {
    const owners = new Map<string, string>();
    const clashes: string[] = [];
    for (const [column, names] of Object.entries<readonly string[]>(POLICY_HEADER_ALIASES)) {
      for (const name of names) {
        const owner = owners.get(foldText(name)) ?? column;
        if (owner !== column) clashes.push(`"${name}" is both ${owner} and ${column}`);
        owners.set(foldText(name), owner);
      }
    }
    expect(clashes).toEqual([]);
  });
});

describe('parsePolicyCsv: unusable files', () => {
  it('names the missing column, its aliases and the file, for the field "file"', () => {
    const csv = [
      'N° de contrat;Assuré;E-mail;Statut;Prime;Échéance',
      'HAB-1;A;a@example.org;actif;1;01/01/2027',
    ];
    const error = fileError(Buffer.from(csv.join('\n')));
    expect(error).toMatchObject({ field: 'file', code: 'invalid_csv', status: 400 });
    expect(error.message).toBe(
      'file: policies.csv: missing column "dateOfBirth": expected one of "dateOfBirth", "date de naissance", ' +
        '"né(e) le", "né le", "née le", "naissance", "dob", "date of birth", "date_of_birth", "birth date", ' +
        '"birthdate"',
    );
  });

  it('refuses an empty file and a file over 20 MB', () => {
    expect(fileError(Buffer.from('\ufeff\r\n ;;\r\n')).message).toBe('file: policies.csv: empty file');
    expect(fileError(Buffer.alloc(20 * 1024 * 1024 + 1, 0x61)).message).toBe(
      'file: policies.csv: file too large: 20.0 MB, the limit is 20 MB',
    );
  });
});

describe('parsePolicyCsv: rows', () => {
  it('rejects a repeated policy number on its later line, naming the first, and keeps the first', () => {
    const parsed = policiesFrom([
      {},
      { policyNumber: 'AUTO-2023-0117' },
      { policyNumber: ' hab-2024-0042 ', holderName: 'Someone Else' },
    ]);
    expect(parsed.policies.map((p) => [p.line, p.policyNumber, p.holderName])).toEqual([
      [2, 'HAB-2024-0042', 'Camille Laurent'],
      [3, 'AUTO-2023-0117', 'Camille Laurent'],
    ]);
    expect(parsed.rejected).toEqual([
      { line: 4, reason: 'policyNumber: "HAB-2024-0042" is already on line 2' },
    ]);
  });

  it('keeps a policy whose number first appeared on a rejected row', () => {
    const parsed = policiesFrom([{ dateOfBirth: '' }, {}]);
    expect(parsed.rejected).toEqual([{ line: 2, reason: 'dateOfBirth: missing' }]);
    expect(parsed.policies.map((p) => p.line)).toEqual([3]);
  });

  it('names every problem of a row, column by column, and keeps the good rows', () => {
    const parsed = policiesFrom([
      { policyNumber: 'HAB 2024/42', email: 'camille.laurent@', status: 'gelé', premium: 'gratuit' },
      { policyNumber: 'AUTO-2023-0117' },
    ]);
    expect(parsed.rejected).toEqual([
      {
        line: 2,
        reason:
          'policyNumber: "HAB 2024/42" is not a policy number (3 to 40 letters, digits or dashes); ' +
          'email: "camille.laurent@" is not an e-mail address; ' +
          'status: "gelé" is not a status: active, lapsed, cancelled or pending ' +
          '(or actif, en cours, suspendu, impayé, résilié, en attente); ' +
          'premium: "gratuit" is not an amount in euros',
      },
    ]);
    expect(parsed.policies.map((p) => p.policyNumber)).toEqual(['AUTO-2023-0117']);
  });

  it('rejects a row with another number of fields than the header', () => {
    const csv = `${COLUMNS.join(';')}\nHAB-1;Camille Laurent;12/03/1985\n`;
    expect(parsePolicyCsv(Buffer.from(csv), 'policies.csv', TODAY).rejected).toEqual([
      { line: 2, reason: 'wrong number of fields: found 3, expected 11' },
    ]);
  });

  it.each([
    ['1 234,56', 1234.56],
    ['1234.56', 1234.56],
    ['1 234,56 €', 1234.56],
    ['1\u202f234,56\u00a0€', 1234.56],
    ['1.234,56', 1234.56],
    ['EUR 412.80', 412.8],
    ['412,8', 412.8],
    ['1.234', 1234],
    ['1.234.567,89', 1234567.89],
    ['0', 0],
  ])('reads the premium %j as %d euros', (premium, euros) => {
    expect(policiesFrom([{ premium }]).policies[0]?.premium).toBe(euros);
  });

  it.each(['-12', '12,345,6', '1,2345', '12 €/mois'])('rejects the premium %j', (premium) => {
    expect(rejection({ premium })).toBe(`premium: "${premium}" is not an amount in euros`);
  });

  it.each([
    ['12/03/1985', '1985-03-12'],
    ['12-03-1985', '1985-03-12'],
    ['12.03.1985', '1985-03-12'],
    ['1985-03-12', '1985-03-12'],
    ['2/3/1985', '1985-03-02'],
    ['12/03/1985 00:00', '1985-03-12'],
    ['1985-03-12T00:00:00Z', '1985-03-12'],
    ['29/02/1984', '1984-02-29'],
  ])('reads the date %j as %s', (date, iso) => {
    expect(policiesFrom([{ dateOfBirth: date, renewalDate: date }]).policies[0]).toMatchObject({
      dateOfBirth: iso,
      renewalDate: iso,
    });
  });

  it.each([
    ['31/02/1980', 'is not a date'],
    ['29/02/1983', 'is not a date'],
    ['12/13/1985', 'is not a date'],
    ['12/03-1985', 'is not a date'],
    ['12/03/85', 'is not a date'],
    ['12 mars 1985', 'is not a date'],
    ['01/06/2026', 'is not in the past'],
    ['12/03/1895', 'is before 1900'],
  ])('rejects the date of birth %j: %s', (dateOfBirth, problem) => {
    expect(rejection({ dateOfBirth })).toBe(`dateOfBirth: "${dateOfBirth}" ${problem}`);
  });

  it('takes a renewal date in the future, and names a bad one', () => {
    expect(policiesFrom([{ renewalDate: '31/12/2099' }]).policies[0]?.renewalDate).toBe('2099-12-31');
    expect(rejection({ renewalDate: '31/04/2027' })).toBe('renewalDate: "31/04/2027" is not a date');
  });

  it.each([
    ['actif', 'active'],
    ['Active', 'active'],
    ['EN COURS', 'active'],
    ['résilié', 'cancelled'],
    ['Resiliee', 'cancelled'],
    ['cancelled', 'cancelled'],
    ['suspendu', 'lapsed'],
    ['Impayé', 'lapsed'],
    ['lapsed', 'lapsed'],
    ['En attente', 'pending'],
    ['pending', 'pending'],
  ])('maps the status %j to %s', (status, expected) => {
    expect(policiesFrom([{ status }]).policies[0]?.status).toBe(expected);
  });

  it.each([
    ['06 12 34 56 78', '+33612345678'],
    ['06.12.34.56.78', '+33612345678'],
    ['0612345678', '+33612345678'],
    ['612345678', '+33612345678'],
    ['+33 (0)6 12 34 56 78', '+33612345678'],
    ['0033 6 12 34 56 78', '+33612345678'],
    ['+1 (415) 555-0123', '+14155550123'],
    ['+44 20 7946 0958', '+442079460958'],
    ['n/a', ''],
    ['', ''],
    ['3615 ULLA', '3615 ULLA'],
  ])('normalises the phone %j to %j', (phone, expected) => {
    expect(policiesFrom([{ phone }]).policies[0]?.phone).toBe(expected);
  });

  it.each([
    ['holderName', 'holderName: missing'],
    ['email', 'email: missing'],
    ['status', 'status: missing'],
    ['premium', 'premium: missing'],
    ['renewalDate', 'renewalDate: missing'],
  ] as const)('rejects a row without %s', (column, reason) => {
    expect(rejection({ [column]: '' })).toBe(reason);
  });
});
