import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONSULTANT_HEADER_ALIASES,
  JOB_HEADER_ALIASES,
  decodeCsv,
  parseConsultants,
  parseJobs,
  sniffDelimiter,
} from '../../functions/dossiers/csvInput';
import { foldText } from '../../functions/platform/text';
import { CsvFileError } from '../../functions/dossiers/types';

const FIXTURES = path.resolve(__dirname, '../fixtures/csv');
const SAMPLES = path.resolve(__dirname, '../../samples');

function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURES, name));
}

function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** Parses a one-column-per-line consultants CSV written inline, `;`-delimited. */
function consultantsFrom(lines: string[]) {
  return parseConsultants(utf8(lines.join('\n')), 'consultants.csv');
}

function parseError(parseFile: () => unknown): CsvFileError {
  try {
    parseFile();
  } catch (error) {
    if (error instanceof CsvFileError) return error;
    throw error;
  }
  throw new Error('expected a CsvFileError');
}

describe('decodeCsv', () => {
  it('reads UTF-8 with a BOM and strips the BOM', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8('Prénom;Nom')]);
    expect(decodeCsv(bytes)).toEqual({ text: 'Prénom;Nom', encoding: 'utf-8' });
  });

  it('reads UTF-8 without a BOM', () => {
    expect(decodeCsv(utf8('Prénom;Nom'))).toEqual({ text: 'Prénom;Nom', encoding: 'utf-8' });
  });

  it('falls back to Windows-1252 when the bytes are not UTF-8', () => {
    expect(decodeCsv(Buffer.from('Prénom;Zoé;Françoise;Cô', 'latin1'))).toEqual({
      text: 'Prénom;Zoé;Françoise;Cô',
      encoding: 'windows-1252',
    });
  });

  it('decodes the Windows-1252 characters that Latin-1 lacks (’ € œ – …)', () => {
    const bytes = Buffer.from([0x63, 0x92, 0x65, 0x73, 0x74, 0x20, 0x80, 0x20, 0x9c, 0x20, 0x96, 0x85]);
    expect(decodeCsv(bytes)).toEqual({ text: 'c’est € œ –…', encoding: 'windows-1252' });
  });

  it('trusts a BOM over a damaged byte after it', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8('Caf'), Buffer.from([0xe9])]);
    expect(decodeCsv(bytes)).toEqual({ text: 'Caf\ufffd', encoding: 'utf-8' });
  });
});

describe('sniffDelimiter', () => {
  it('picks the delimiter the header uses most', () => {
    expect(sniffDelimiter('Nom;Prénom;Titre\n')).toBe(';');
    expect(sniffDelimiter('Nom,Prénom,Titre\n')).toBe(',');
    expect(sniffDelimiter('Nom\tPrénom\tTitre\n')).toBe('\t');
    expect(sniffDelimiter('Nom;Prénom, nom d’usage;Titre\n')).toBe(';');
  });

  it('ignores delimiters inside quotes, including a quoted line break', () => {
    expect(sniffDelimiter('"Nom; Prénom; Titre",Skills,Years\n')).toBe(',');
    expect(sniffDelimiter('"Nom\n;;;",Skills,Years\n')).toBe(',');
  });

  it('reads the header line only', () => {
    expect(sniffDelimiter('Nom,Titre\r\nA;B;C;D;E\r\n')).toBe(',');
    expect(sniffDelimiter('\n\nNom\tTitre\nA;B;C\n')).toBe('\t');
  });

  it('breaks ties with ; then tab then ,', () => {
    expect(sniffDelimiter('a;b,c\n')).toBe(';');
    expect(sniffDelimiter('a\tb,c\n')).toBe('\t');
    expect(sniffDelimiter('a,b\tc;d\n')).toBe(';');
    expect(sniffDelimiter('Nom\n')).toBe(';');
  });
});

describe('parseConsultants: encodings, delimiters, line endings', () => {
  it('reads UTF-8 with a BOM, `;` and CRLF, with quoted cells holding `;` and line breaks', () => {
    const parsed = parseConsultants(fixture('consultants-utf8-bom-semicolon-crlf.csv'), 'consultants.csv');
    expect(parsed.encoding).toBe('utf-8');
    expect(parsed.delimiter).toBe(';');
    expect(parsed.rejectedRows).toEqual([]);
    expect(parsed.records).toEqual([
      {
        id: 'c-001',
        line: 2,
        fullName: 'Camille Durand',
        firstName: 'Camille',
        lastName: 'Durand',
        title: 'Data engineer',
        years: 8,
        skills: ['Python', 'SQL', 'Azure Data Factory', 'Spark'],
        experiences:
          '2021-2024 : Banque Exemple, pipelines ; lakehouse\n2018-2021 : Mutuelle Fictive, entrepôt de données',
        languages: 'Français, anglais',
        extra: { Manager: 'Sophie Martin' },
      },
      {
        id: 'c-002',
        line: 4,
        fullName: 'Hugo Lefèvre',
        firstName: 'Hugo',
        lastName: 'Lefèvre',
        title: 'Architecte cloud',
        years: 12,
        skills: ['Azure', 'Terraform', 'Kubernetes'],
        extra: {},
      },
      {
        id: 'lea-moreau',
        line: 5,
        fullName: 'Léa Moreau',
        firstName: 'Léa',
        lastName: 'Moreau',
        title: 'Développeuse full-stack',
        years: 4.5,
        skills: ['TypeScript', 'React', 'Node.js'],
        languages: 'Anglais',
        extra: {},
      },
    ]);
  });

  it('reads Windows-1252 with `;` and CRLF, building the name from first and/or last name', () => {
    const parsed = parseConsultants(fixture('consultants-cp1252-semicolon-crlf.csv'), 'consultants.csv');
    expect(parsed.encoding).toBe('windows-1252');
    expect(parsed.delimiter).toBe(';');
    expect(parsed.rejectedRows).toEqual([]);
    expect(parsed.records.map(({ id, line, fullName }) => ({ id, line, fullName }))).toEqual([
      { id: 'frederic-benard', line: 2, fullName: 'Frédéric Bénard' },
      { id: 'zoe', line: 3, fullName: 'Zoé' },
      { id: 'duboeuf', line: 4, fullName: 'Dubœuf' },
    ]);
    expect(parsed.records[0]).toMatchObject({
      title: 'Chef de projet – transformation',
      years: 15,
      skills: ['Gestion de projet', 'Prince2'],
      education: 'École d’ingénieurs',
      dailyRate: '650 €',
      availability: 'Immédiate',
    });
  });

  it('reads UTF-8 without a BOM, `,` and LF, with headers in other case, unaccented and padded', () => {
    const parsed = parseConsultants(fixture('consultants-utf8-comma-lf.csv'), 'consultants.csv');
    expect(parsed.encoding).toBe('utf-8');
    expect(parsed.delimiter).toBe(',');
    expect(parsed.records[0]).toEqual({
      id: 'jd-01',
      line: 2,
      fullName: 'Jane Doe',
      title: 'Data scientist',
      years: 10,
      skills: ['Python', 'R', 'scikit-learn'],
      // "Competences techniques" also means skills: the first skills column wins, this one is kept as a fact.
      extra: { 'Competences techniques': 'Spark', Team: 'Data', Notes: 'Prefers remote, 2 days on site' },
    });
  });

  it('reads tab-delimited files with quoted tabs and line breaks', () => {
    const parsed = parseJobs(fixture('jobs-utf8-tab-lf.csv'), 'jobs.csv');
    expect(parsed.delimiter).toBe('\t');
    expect(parsed.records[0]).toMatchObject({
      line: 2,
      description: 'Plateforme de données :\tingestion\net qualité',
    });
    expect(parsed.records[1]?.line).toBe(5);
  });

  it('refuses UTF-16 text with a hint instead of a misleading column error', () => {
    const bytes = Buffer.from('\ufeffNom complet;Titre\r\nZoé;BI\r\n', 'utf16le');
    expect(parseError(() => parseConsultants(bytes, 'consultants.csv')).message).toMatch(/UTF-16.*CSV UTF-8/);
  });
});

describe('parseConsultants: rows', () => {
  it('rejects a row with the wrong number of fields, with its line, and keeps the others', () => {
    const parsed = parseConsultants(fixture('consultants-utf8-comma-lf.csv'), 'consultants.csv');
    expect(parsed.rejectedRows).toEqual([
      { file: 'consultants.csv', line: 3, reason: 'wrong number of fields: found 3, expected 8' },
      { file: 'consultants.csv', line: 4, reason: 'no name: the name cells are empty' },
    ]);
    expect(parsed.records.map((r) => r.line)).toEqual([2, 5, 7, 9, 10]);
  });

  it('skips empty lines and rows of empty cells without rejecting them', () => {
    const parsed = consultantsFrom(['Nom complet;Titre', '', 'Zoé;BI', '   ', ';', ' ; ', 'Hugo;Cloud', '']);
    expect(parsed.rejectedRows).toEqual([]);
    expect(parsed.records.map(({ fullName, line }) => ({ fullName, line }))).toEqual([
      { fullName: 'Zoé', line: 3 },
      { fullName: 'Hugo', line: 7 },
    ]);
  });

  it('gives a multi-line record the line where it starts', () => {
    const parsed = consultantsFrom(['Nom complet;Expériences', 'Zoé;"2024\n2023\n\n2022"', 'Hugo;"a\r\nb"']);
    expect(parsed.records.map((r) => [r.line, r.experiences])).toEqual([
      [2, '2024\n2023\n\n2022'],
      [6, 'a\nb'],
    ]);
  });

  it('keeps quotes found inside an unquoted cell rather than failing the file', () => {
    const parsed = consultantsFrom(['Nom complet;Titre', 'Jean "Johnny" Dupont;Dev']);
    expect(parsed.records[0]?.fullName).toBe('Jean "Johnny" Dupont');
  });

  it('trims text cells and leaves empty ones undefined', () => {
    const [record] = consultantsFrom(['Nom complet;Localisation;TJM;Langues', '  Zoé  ;  Lyon ;;  ']).records;
    expect(record).toMatchObject({ fullName: 'Zoé', location: 'Lyon' });
    expect(record?.dailyRate).toBeUndefined();
    expect(record?.languages).toBeUndefined();
  });

  it('keeps unknown columns as extra facts under the trimmed header, only when the cell has a value', () => {
    const [first, second] = consultantsFrom([
      'Nom complet;  Manager ;Client actuel;',
      'Zoé; Sophie ;;',
      'Hugo;;Banque Exemple;',
    ]).records;
    expect(first?.extra).toEqual({ Manager: 'Sophie' });
    expect(second?.extra).toEqual({ 'Client actuel': 'Banque Exemple' });
  });

  it('maps the first of two columns for the same field and keeps the second as extra', () => {
    const [record] = consultantsFrom([
      'Nom complet;Consultant;Compétences;Skills',
      'Zoé;Z. Martin;SQL;Python',
    ]).records;
    expect(record).toMatchObject({
      fullName: 'Zoé',
      skills: ['SQL'],
      extra: { Consultant: 'Z. Martin', Skills: 'Python' },
    });
  });

  it('matches headers regardless of case, accents, curly apostrophes and spacing', () => {
    const [record] = consultantsFrom([
      '  PRÉNOM  ;nom   de  famille;Annees d’experience; disponibilite ;Taux Journalier',
      'Zoé;Martin;6;Immédiate;500 €',
    ]).records;
    expect(record).toMatchObject({
      fullName: 'Zoé Martin',
      firstName: 'Zoé',
      lastName: 'Martin',
      years: 6,
      availability: 'Immédiate',
      dailyRate: '500 €',
    });
  });
});

describe('parseConsultants: cells', () => {
  it.each([
    ['8', 8],
    ['8 ans', 8],
    ['8,5', 8.5],
    ['8.5 years', 8.5],
    ['10+', 10],
    ['environ 12 ans', 12],
    ['senior', undefined],
    ['', undefined],
  ])('reads years from %j as %j, keeping the row either way', (cell, years) => {
    const parsed = consultantsFrom(['Nom complet;Années', `Zoé;${cell}`]);
    expect(parsed.rejectedRows).toEqual([]);
    expect(parsed.records[0]?.years).toBe(years);
  });

  it('splits skills on , ; | and line breaks, trimmed, without empties', () => {
    const [record] = consultantsFrom([
      'Nom complet;Compétences',
      'Zoé;" Python, SQL;Spark |Docker\n Kubernetes ;; ,|"',
    ]).records;
    expect(record?.skills).toEqual(['Python', 'SQL', 'Spark', 'Docker', 'Kubernetes']);
  });

  it('drops repeated skills whatever their case or accents, keeping the first spelling', () => {
    const [record] = consultantsFrom([
      'Nom complet;Compétences',
      'Zoé;"Sécurité; SQL; sql; securite; Power  BI; power bi"',
    ]).records;
    expect(record?.skills).toEqual(['Sécurité', 'SQL', 'Power  BI']);
  });

  it('gives an empty skills list when there is no skills cell or column', () => {
    expect(consultantsFrom(['Nom complet;Compétences', 'Zoé;']).records[0]?.skills).toEqual([]);
    expect(consultantsFrom(['Nom complet', 'Zoé']).records[0]?.skills).toEqual([]);
  });
});

describe('parseConsultants: ids', () => {
  it('takes the id column when it has a value, else the name, as a slug', () => {
    const parsed = consultantsFrom(['Matricule;Nom complet', 'C 001/A;Zoé Martin', ';Élodie Marchand']);
    expect(parsed.records.map((r) => r.id)).toEqual(['c-001-a', 'elodie-marchand']);
  });

  it('suffixes colliding ids -2, -3 in file order', () => {
    const parsed = parseConsultants(fixture('consultants-utf8-comma-lf.csv'), 'consultants.csv');
    expect(parsed.records.map((r) => r.id)).toEqual([
      'jd-01',
      'jean-martin',
      'jean-martin-2',
      'jean-martin-3',
      'jerome-oeuvray-angstrom',
    ]);
  });

  it('makes ids unique across id-column and name-derived values, without stealing an existing -2', () => {
    const parsed = consultantsFrom([
      'Identifiant;Nom complet',
      'jean-martin-2;A',
      ';Jean Martin',
      'JEAN MARTIN;B',
    ]);
    expect(parsed.records.map((r) => r.id)).toEqual(['jean-martin-2', 'jean-martin', 'jean-martin-3']);
  });

  it('gives no id to rejected rows', () => {
    const parsed = consultantsFrom(['Nom complet;Titre', 'Zoé;BI', ';Cloud', 'Zoé;DevOps']);
    expect(parsed.records.map((r) => r.id)).toEqual(['zoe', 'zoe-2']);
  });
});

describe('parseConsultants: unusable files', () => {
  it('names the missing name column and its aliases', () => {
    const error = parseError(() =>
      parseConsultants(fixture('consultants-missing-name.csv'), 'consultants.csv'),
    );
    expect(error.file).toBe('consultants.csv');
    expect(error.message).toBe(
      'consultants.csv: no name column: expected one of "nom complet", "consultant", "name", "full name", ' +
        'or "prénom"/"nom" (first name / last name)',
    );
  });

  it('accepts a file with only a first name or only a last name column', () => {
    expect(consultantsFrom(['Prénom;Titre', 'Zoé;BI']).records[0]?.fullName).toBe('Zoé');
    expect(consultantsFrom(['Nom;Titre', 'Martin;BI']).records[0]?.fullName).toBe('Martin');
  });

  it.each([
    ['no bytes', Buffer.alloc(0)],
    ['a BOM only', Buffer.from([0xef, 0xbb, 0xbf])],
    ['blank lines', utf8('\r\n\r\n  \r\n')],
    ['rows of empty cells', utf8(';;;\n;;;\n')],
  ])('refuses an empty file (%s)', (_label, bytes) => {
    expect(parseError(() => parseConsultants(bytes, 'consultants.csv')).message).toBe(
      'consultants.csv: empty file',
    );
  });

  it('gives zero records for a header-only file', () => {
    const parsed = parseConsultants(utf8('\ufeffMatricule;Prénom;Nom\r\n'), 'consultants.csv');
    expect(parsed).toEqual({ records: [], rejectedRows: [], encoding: 'utf-8', delimiter: ';' });
  });

  it('refuses a file that is not readable as CSV', () => {
    const error = parseError(() => consultantsFrom(['Nom complet;Titre', 'Zoé;"BI', 'Hugo;Cloud']));
    expect(error.message).toMatch(/^consultants\.csv: not readable as CSV: Quote Not Closed/);
  });

  it('refuses a file over 20 MB before reading it', () => {
    const bytes = Buffer.alloc(20 * 1024 * 1024 + 1, 0x61);
    expect(parseError(() => parseConsultants(bytes, 'consultants.csv')).message).toBe(
      'consultants.csv: file too large: 20.0 MB, the limit is 20 MB',
    );
  });

  it('accepts 50,000 data rows, even of one repeated name, and refuses one more', () => {
    const rows = (count: number) => utf8(`Nom complet\n${'Zoé\n'.repeat(count)}`);
    const atLimit = parseConsultants(rows(50_000), 'consultants.csv');
    expect(atLimit.records).toHaveLength(50_000);
    expect(atLimit.records.at(-1)?.id).toBe('zoe-50000');
    expect(parseError(() => parseConsultants(rows(50_001), 'consultants.csv')).message).toBe(
      'consultants.csv: too many rows: 50,001 data rows, the limit is 50,000 per file',
    );
  });
});

describe('parseJobs', () => {
  it('reads job postings with unaccented headers, skills lists, ids and extra facts', () => {
    const parsed = parseJobs(fixture('jobs-utf8-tab-lf.csv'), 'jobs.csv');
    expect(parsed.records).toEqual([
      {
        id: 'job-2026-01',
        line: 2,
        title: 'Data engineer Azure',
        client: 'Banque Exemple',
        description: 'Plateforme de données :\tingestion\net qualité',
        requiredSkills: ['Python', 'SQL', 'Spark'],
        niceToHave: ['Databricks', 'spark'],
        seniority: 'Senior',
        extra: { Budget: '600 €' },
      },
      {
        id: 'job-2026-01-2',
        line: 5,
        title: 'Architecte cloud',
        client: 'Industrie Exemple',
        description: 'Landing zone Azure',
        requiredSkills: ['Azure', 'Terraform'],
        niceToHave: ['Kubernetes'],
        seniority: 'Expert',
        extra: {},
      },
      {
        id: 'developpeur-full-stack',
        line: 6,
        title: 'Développeur full-stack',
        client: 'Startup Exemple',
        requiredSkills: ['TypeScript'],
        niceToHave: ['React'],
        extra: {},
      },
    ]);
  });

  it('rejects a job without a title and keeps the others', () => {
    const parsed = parseJobs(fixture('jobs-utf8-tab-lf.csv'), 'jobs.csv');
    expect(parsed.rejectedRows).toEqual([
      { file: 'jobs.csv', line: 4, reason: 'no title: the title cell is empty' },
    ]);
  });

  it('reads the French headers of a `,` file, with a quoted skills cell', () => {
    const csv = [
      'Réf,Intitulé,Entreprise,Contexte,Compétences,Atouts,Niveau,Localisation,Date de début,Durée',
      'JOB-2026-07,Data analyst,Distrivia,Reporting,"SQL, Power BI",DAX,Junior,Lille,01/02/2026,6 mois',
    ].join('\r\n');
    expect(parseJobs(utf8(csv), 'jobs.csv').records).toEqual([
      {
        id: 'job-2026-07',
        line: 2,
        title: 'Data analyst',
        client: 'Distrivia',
        description: 'Reporting',
        requiredSkills: ['SQL', 'Power BI'],
        niceToHave: ['DAX'],
        seniority: 'Junior',
        location: 'Lille',
        start: '01/02/2026',
        duration: '6 mois',
        extra: {},
      },
    ]);
  });

  it('names the missing title column and its aliases', () => {
    expect(parseError(() => parseJobs(fixture('jobs-missing-title.csv'), 'jobs.csv')).message).toBe(
      'jobs.csv: no title column: expected one of "intitulé du poste", "intitulé", "poste", "titre", "title", "job title"',
    );
  });
});

describe('header alias tables', () => {
  it.each([
    ['consultants', CONSULTANT_HEADER_ALIASES],
    ['jobs', JOB_HEADER_ALIASES],
  ])('give each %s header to one field only', (_file, aliases) => {
    const owners = new Map<string, string>();
    const clashes: string[] = [];
    for (const [field, names] of Object.entries<readonly string[]>(aliases)) {
      for (const name of names) {
        const owner = owners.get(foldText(name)) ?? field;
        if (owner !== field) clashes.push(`"${name}" is both ${owner} and ${field}`);
        owners.set(foldText(name), owner);
      }
    }
    expect(clashes).toEqual([]);
  });
});

describe('samples', () => {
  it('parse with no rejected rows', () => {
    const consultants = parseConsultants(
      readFileSync(path.join(SAMPLES, 'consultants.csv')),
      'consultants.csv',
    );
    const jobs = parseJobs(readFileSync(path.join(SAMPLES, 'jobs.csv')), 'jobs.csv');
    expect([consultants.rejectedRows, jobs.rejectedRows]).toEqual([[], []]);
    expect([consultants.encoding, consultants.delimiter, jobs.encoding, jobs.delimiter]).toEqual([
      'utf-8',
      ';',
      'utf-8',
      ';',
    ]);
    expect(consultants.records).toHaveLength(8);
    expect(jobs.records.map((job) => job.id)).toEqual([
      'job-2026-01',
      'job-2026-02',
      'job-2026-03',
      'job-2026-04',
    ]);
    for (const consultant of consultants.records) {
      expect(consultant).toMatchObject({ years: expect.any(Number) as number, extra: {} });
      expect(consultant.skills.length).toBeGreaterThan(3);
    }
  });
});
