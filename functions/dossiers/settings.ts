import {
  defineSettings,
  optionalBoolean,
  optionalEnum,
  optionalText,
  wholeNumber,
} from '../platform/settings';
import { isTemplateName, TEMPLATE_NAME_RULE } from './types';

export interface DossierSettings {
  topK: number | undefined;
  minScore: number | undefined;
  language: 'fr' | 'en';
  regenerateUngrounded: boolean;
  /** Pairs in flight at once in a batch (one lane each). */
  concurrency: number;
  maxUploadBytes: number;
  /** The stored template batches fill when they name none; the built-in layout when unset. */
  template: string | undefined;
}

export const dossierSettings = defineSettings({
  entries: {
    DOSSIERS_TOP_K: {
      schema: wholeNumber(1, 10_000, 'consultants'),
      default: 'all pairs',
      doc: 'Keep the K best consultants per job; the others are reported as `not-selected`.',
    },
    DOSSIERS_MIN_SCORE: {
      schema: wholeNumber(0, 100, 'points'),
      default: 'none',
      doc: 'Drop pairs scoring below this (0–100); reported as `not-selected`.',
    },
    DOSSIERS_LANGUAGE: {
      schema: optionalEnum(['fr', 'en']),
      default: '`fr`',
      doc: '`fr` or `en`: the language of the dossiers.',
    },
    DOSSIERS_REGENERATE_UNGROUNDED: {
      schema: optionalBoolean,
      default: '`false`',
      doc: "`true`: a dossier naming skills the consultant's record lacks is regenerated once with a stricter prompt.",
    },
    DOSSIERS_CONCURRENCY: {
      schema: wholeNumber(1, 256, 'pairs'),
      default: '`16`',
      doc: 'Pairs in flight at once in a batch (one lane each).',
    },
    DOSSIERS_MAX_UPLOAD_MB: {
      schema: wholeNumber(1, 100, 'megabytes'),
      default: '`20`',
      doc: 'Largest body `POST /api/dossiers/batches` and `POST /api/dossiers/templates` accept (413 beyond).',
    },
    DOSSIERS_TEMPLATE: {
      schema: optionalText.refine((name) => name === undefined || isTemplateName(name), TEMPLATE_NAME_RULE),
      default: 'the built-in layout',
      doc: "The name of a template in `dossiers-templates` that a batch's DOCX files fill when it names none (`options.template`).",
    },
  },
  build: (s): DossierSettings => ({
    topK: s.DOSSIERS_TOP_K,
    minScore: s.DOSSIERS_MIN_SCORE,
    language: s.DOSSIERS_LANGUAGE ?? 'fr',
    regenerateUngrounded: s.DOSSIERS_REGENERATE_UNGROUNDED === 'true',
    concurrency: s.DOSSIERS_CONCURRENCY ?? 16,
    maxUploadBytes: (s.DOSSIERS_MAX_UPLOAD_MB ?? 20) * 1024 * 1024,
    template: s.DOSSIERS_TEMPLATE,
  }),
});
