import { z } from 'zod';
import { durableContract } from '../platform/durable';
import { healthReportSchema } from './healthChecks';
import { alertSchema } from './healthHistory';
import { SMOKE_TESTS, smokeResultSchema } from './smoke';

/** How a run was started, for its log and its input. */
const trigger = z.enum(['console', 'timer', 'drop']);

/** Each workflow's parameters: checked when a run is asked for (400 naming the field) and at the boundary. */
export const WORKFLOW_PARAMETERS = {
  health: z.strictObject({}),
  maintenance: z.strictObject({
    olderThanDays: z.number().int().min(1).max(3650).default(30),
    dryRun: z.boolean().default(true),
    backupTables: z.boolean().default(true),
  }),
  smoke: z.strictObject({
    tests: z
      .array(z.enum(SMOKE_TESTS))
      .min(1)
      .max(SMOKE_TESTS.length)
      .default([...SMOKE_TESTS]),
  }),
  documents: z.strictObject({
    batchId: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, - and _ only, starting with a letter or digit'),
  }),
};

export type WorkflowName = keyof typeof WORKFLOW_PARAMETERS;
export const WORKFLOW_NAMES = Object.keys(WORKFLOW_PARAMETERS) as WorkflowName[];

const runInput = <P extends z.ZodType>(parameters: P) => z.object({ parameters, trigger });
export type RunInput<N extends WorkflowName> = {
  parameters: z.output<(typeof WORKFLOW_PARAMETERS)[N]>;
  trigger: z.infer<typeof trigger>;
};

const runRef = z.object({ runId: z.string() });

export const maintenanceReportSchema = z.object({
  dryRun: z.boolean(),
  olderThanDays: z.number(),
  history: z.object({ instances: z.number(), skippedActive: z.number() }),
  backup: z
    .object({
      tables: z.array(
        z.object({ table: z.string(), rows: z.number(), bytes: z.number(), blob: z.string().optional() }),
      ),
      totalRows: z.number(),
      totalBytes: z.number(),
    })
    .nullable(),
  blobs: z.object({
    containers: z.array(z.object({ container: z.string(), blobs: z.number(), bytes: z.number() })),
    totalBlobs: z.number(),
    totalBytes: z.number(),
  }),
  aiCache: z.object({ entries: z.number(), bytes: z.number() }),
});
export type MaintenanceReport = z.infer<typeof maintenanceReportSchema>;

const smokeReportSchema = z.object({
  passed: z.number(),
  failed: z.number(),
  skipped: z.number(),
  results: z.array(smokeResultSchema),
});

export const documentOutcomeSchema = z.object({
  name: z.string(),
  outcome: z.enum(['done', 'failed', 'unchanged']),
  /** MD5 of the file's bytes (hex): the same bytes dropped again are not summarised again. */
  md5: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  summaryBlob: z.string().optional(),
  characters: z.number().optional(),
  pages: z.number().optional(),
});
export type DocumentOutcome = z.infer<typeof documentOutcomeSchema>;

export const documentsReportSchema = z.object({
  batchId: z.string(),
  done: z.number(),
  failed: z.number(),
  unchanged: z.number(),
  /** When the run last listed the batch: every file last modified before then was read by it. */
  listedAt: z.string().optional(),
  files: z.array(documentOutcomeSchema),
});
export type DocumentsReport = z.infer<typeof documentsReportSchema>;

const healthOutcomeSchema = healthReportSchema.extend({ alert: alertSchema.nullable() });

/** The ops workflows and their activities, declared once. */
export const OPS_DURABLE = {
  health: durableContract('opsHealth', runInput(WORKFLOW_PARAMETERS.health), healthOutcomeSchema),
  maintenance: durableContract(
    'opsMaintenance',
    runInput(WORKFLOW_PARAMETERS.maintenance),
    maintenanceReportSchema,
  ),
  smoke: durableContract('opsSmoke', runInput(WORKFLOW_PARAMETERS.smoke), smokeReportSchema),
  documents: durableContract('opsDocuments', runInput(WORKFLOW_PARAMETERS.documents), documentsReportSchema),

  checkHealth: durableContract('opsCheckHealth', runRef, healthReportSchema),
  recordHealth: durableContract(
    'opsRecordHealth',
    z.object({ runId: z.string(), report: healthReportSchema }),
    alertSchema.nullable(),
  ),
  sendAlert: durableContract(
    'opsSendAlert',
    z.object({ runId: z.string(), alert: alertSchema }),
    z.object({ status: z.string() }),
  ),
  purgeHistory: durableContract(
    'opsPurgeHistory',
    z.object({ runId: z.string(), olderThanDays: z.number(), dryRun: z.boolean() }),
    maintenanceReportSchema.shape.history,
  ),
  backupTables: durableContract(
    'opsBackupTables',
    z.object({ runId: z.string(), dryRun: z.boolean() }),
    maintenanceReportSchema.shape.backup.unwrap(),
  ),
  sweepBlobs: durableContract(
    'opsSweepBlobs',
    z.object({ runId: z.string(), dryRun: z.boolean() }),
    z.object({ blobs: maintenanceReportSchema.shape.blobs, aiCache: maintenanceReportSchema.shape.aiCache }),
  ),
  smokeTest: durableContract(
    'opsSmokeTest',
    z.object({ runId: z.string(), test: z.enum(SMOKE_TESTS) }),
    smokeResultSchema,
  ),
  documentsLane: durableContract(
    'opsDocumentsLane',
    z.object({ runId: z.string(), batchId: z.string(), names: z.array(z.string()) }),
    z.array(documentOutcomeSchema),
  ),
  listDocuments: durableContract(
    'opsListDocuments',
    z.object({ runId: z.string(), batchId: z.string() }),
    z.object({
      todo: z.array(z.object({ name: z.string() })),
      unchanged: z.array(documentOutcomeSchema),
    }),
  ),
  processDocument: durableContract(
    'opsProcessDocument',
    z.object({ runId: z.string(), batchId: z.string(), name: z.string() }),
    documentOutcomeSchema,
  ),
  documentsReport: durableContract(
    'opsDocumentsReport',
    z.object({ runId: z.string(), report: documentsReportSchema }),
    z.null(),
  ),
};

/** The orchestration of each workflow. */
export const WORKFLOW_CONTRACTS = {
  health: OPS_DURABLE.health,
  maintenance: OPS_DURABLE.maintenance,
  smoke: OPS_DURABLE.smoke,
  documents: OPS_DURABLE.documents,
} as const;
