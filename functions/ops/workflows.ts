import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from '../platform/errors';
import { parseInput } from '../platform/input';
import { WORKFLOW_NAMES, WORKFLOW_PARAMETERS, type WorkflowName } from './contracts';

export type Language = 'fr' | 'en';
type Text = Record<Language, string>;

interface WorkflowText {
  title: Text;
  description: Text;
  parameters: Record<string, Text>;
}

/** What the console shows of each workflow, in French and English. */
const TEXT: Record<WorkflowName, WorkflowText> = {
  health: {
    title: { fr: 'Vérification santé', en: 'Health check' },
    description: {
      fr: 'Vérifie le stockage, les runs en attente, l’IA, la messagerie, LinkedIn, LiveKit, la mémoire et le disque ; donne un score sur 100 et alerte par email sous le seuil.',
      en: 'Checks storage, waiting runs, AI, email, LinkedIn, LiveKit, memory and disk; scores 0–100 and emails an alert below the threshold.',
    },
    parameters: {},
  },
  maintenance: {
    title: { fr: 'Maintenance', en: 'Maintenance' },
    description: {
      fr: 'Purge l’historique des runs terminés, sauvegarde les tables et supprime les fichiers de travail expirés.',
      en: 'Purges the history of finished runs, backs up the tables and removes expired working files.',
    },
    parameters: {
      olderThanDays: {
        fr: 'Purger les runs terminés depuis plus de N jours',
        en: 'Purge runs finished more than N days ago',
      },
      dryRun: {
        fr: 'Simulation : compter sans rien supprimer',
        en: 'Dry run: count, remove nothing',
      },
      backupTables: { fr: 'Sauvegarder les tables', en: 'Back up the tables' },
    },
  },
  smoke: {
    title: { fr: 'Tests smoke', en: 'Smoke tests' },
    description: {
      fr: 'Un essai à blanc par fonction (IA, dossiers, messagerie, LinkedIn, appels, webhooks), chronométré, sans effet visible.',
      en: 'One dry run per capability (AI, dossiers, mailbox, LinkedIn, calls, webhooks), timed, with no visible effect.',
    },
    parameters: { tests: { fr: 'Tests à lancer', en: 'Tests to run' } },
  },
  documents: {
    title: { fr: 'Traitement de documents', en: 'Document batch' },
    description: {
      fr: 'Extrait et résume les PDF, DOCX et TXT déposés dans documents-inbox/{lot}/ ; relancer ne refait que les fichiers en échec.',
      en: 'Extracts and summarises the PDF, DOCX and TXT files in documents-inbox/{batch}/; running it again redoes only the failed files.',
    },
    parameters: { batchId: { fr: 'Identifiant du lot', en: 'Batch id' } },
  },
};

/** The language asked for in Accept-Language: English when it comes first, French otherwise. */
export function languageOf(acceptLanguage: string | null | undefined): Language {
  return /^\s*en\b/i.test(acceptLanguage ?? '') ? 'en' : 'fr';
}

/** Each workflow with its parameters as JSON Schema, for the console's generated forms. */
export function describeWorkflows(language: Language) {
  return WORKFLOW_NAMES.map((name) => {
    const text = TEXT[name];
    const schema = z.toJSONSchema(WORKFLOW_PARAMETERS[name], { io: 'input' }) as {
      properties?: Record<string, Record<string, unknown>>;
    } & Record<string, unknown>;
    for (const [property, definition] of Object.entries(schema.properties ?? {})) {
      const doc = text.parameters[property];
      if (doc) definition.description = doc[language];
    }
    return {
      name,
      title: text.title[language],
      description: text.description[language],
      startable: true,
      parameters: schema,
    };
  });
}

const startSchema = z.strictObject({
  workflow: z.string(),
  parameters: z.record(z.string(), z.unknown()).default({}),
});

/** A run asked for: its workflow and its parameters with their defaults, or a 400 naming the field. */
export function parseStart(body: unknown): {
  workflow: WorkflowName;
  parameters: Record<string, unknown>;
} {
  const request = parseInput(startSchema, body);
  if (!(WORKFLOW_NAMES as string[]).includes(request.workflow)) {
    throw new InvalidInputError(
      'body.workflow',
      `"${request.workflow}" is not a workflow; use one of ${WORKFLOW_NAMES.join(', ')}`,
      'unknown_workflow',
    );
  }
  const workflow = request.workflow as WorkflowName;
  const parameters = parseInput(WORKFLOW_PARAMETERS[workflow], request.parameters, 'body.parameters');
  return { workflow, parameters };
}

export const OPS_RUN_PREFIX = 'ops-';

/** `ops-<workflow>-<UTC time>-<random>`: the workflow is its prefix (the list filters on it), then time. */
export function newRunId(workflow: WorkflowName, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${OPS_RUN_PREFIX}${workflow}-${stamp}-${randomBytes(3).toString('hex')}`;
}

export const workflowPrefix = (workflow: WorkflowName) => `${OPS_RUN_PREFIX}${workflow}-`;
