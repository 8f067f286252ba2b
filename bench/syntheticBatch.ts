import { mulberry32 } from '../local/servers/aiServer';

const SKILLS = [
  'Python',
  'SQL',
  'Spark',
  'Azure Data Factory',
  'Databricks',
  'Power BI',
  'TypeScript',
  'React',
  'Node.js',
  'Java',
  'Spring Boot',
  'Kubernetes',
  'Terraform',
  'Azure',
  'AWS',
  'Docker',
  'Kafka',
  'Scrum',
  'DAX',
  'Airflow',
];

/** Deterministic consultant and job files of a given size, semicolon-separated as the samples are. */
export function syntheticBatch(
  consultants: number,
  jobs: number,
  seed = 7,
): { consultantsCsv: Buffer; jobsCsv: Buffer } {
  const random = mulberry32(seed);
  const pick = (count: number) => {
    const chosen = new Set<string>();
    while (chosen.size < count) chosen.add(SKILLS[Math.floor(random() * SKILLS.length)] ?? 'SQL');
    return [...chosen].join(', ');
  };
  const consultantRows = Array.from(
    { length: consultants },
    (_, i) =>
      `C${i + 1};Consultant ${i + 1};Ingénieur;${1 + Math.floor(random() * 15)};${pick(6)};Missions variées`,
  );
  const jobRows = Array.from(
    { length: jobs },
    (_, i) =>
      `JOB-${i + 1};Poste ${i + 1};Client ${i + 1};${pick(3)};${pick(2)};${['Junior', 'Confirmé', 'Senior'][i % 3] ?? ''}`,
  );
  return {
    consultantsCsv: Buffer.from(
      ['Matricule;Nom complet;Titre;Années;Compétences;Expériences', ...consultantRows].join('\n'),
    ),
    jobsCsv: Buffer.from(
      ['Référence;Intitulé;Client;Compétences requises;Compétences appréciées;Séniorité', ...jobRows].join(
        '\n',
      ),
    ),
  };
}
