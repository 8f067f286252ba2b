import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SENSITIVE_KINDS, type SensitiveKind } from './sensitive';
import type { ChatMessage } from './types';

/**
 * Prompt templates live in files, one task each: `<task>.json` (settings) next to the Markdown of its
 * system and user messages. `{{name}}` places a variable; values are escaped so user data cannot close
 * the `<data>` block that holds it and pass for instructions.
 */
const templateFile = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/),
  version: z.number().int().positive(),
  maxTokens: z.number().int().positive(),
  temperature: z.number().min(0).max(2),
  redact: z.array(z.enum(SENSITIVE_KINDS)).default([]),
  system: z.string(),
  user: z.string(),
});

export interface PromptTemplate {
  id: string;
  version: number;
  /** The first 12 hex digits of the SHA-256 of the settings and both messages: changes with any edit. */
  hash: string;
  maxTokens: number;
  temperature: number;
  redact: SensitiveKind[];
  render(variables: Readonly<Record<string, unknown>>): ChatMessage[];
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export class TemplateLibrary {
  private readonly cache = new Map<string, PromptTemplate>();

  constructor(private readonly directory: string) {}

  get(task: string): PromptTemplate {
    const cached = this.cache.get(task);
    if (cached) return cached;
    if (!/^[a-z][a-z0-9-]*$/.test(task)) throw new TemplateError(`"${task}" is not a task name.`);
    const file = path.join(this.directory, `${task}.json`);
    if (!existsSync(file)) throw new TemplateError(`No prompt template for task "${task}" (${file}).`);
    const raw = readFileSync(file, 'utf8');
    const parsed = templateFile.safeParse(JSON.parse(raw));
    if (!parsed.success) {
      throw new TemplateError(
        `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      );
    }
    const spec = parsed.data;
    const system = readFileSync(path.join(this.directory, spec.system), 'utf8');
    const user = readFileSync(path.join(this.directory, spec.user), 'utf8');
    const hash = createHash('sha256').update(raw).update(system).update(user).digest('hex').slice(0, 12);
    const template: PromptTemplate = {
      id: spec.id,
      version: spec.version,
      hash,
      maxTokens: spec.maxTokens,
      temperature: spec.temperature,
      redact: spec.redact,
      render: (variables) => [
        { role: 'system', content: fill(system, variables, spec.id) },
        { role: 'user', content: fill(user, variables, spec.id) },
      ],
    };
    this.cache.set(task, template);
    return template;
  }
}

function fill(text: string, variables: Readonly<Record<string, unknown>>, templateId: string): string {
  return text.replace(/\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => {
    if (!(name in variables) || variables[name] === undefined) {
      throw new TemplateError(`The ${templateId} template needs the variable "${name}".`);
    }
    return escapeData(asText(variables[name]));
  });
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** Neutralises anything in user data that would end or open a `<data>` block. */
export function escapeData(value: string): string {
  return value.replace(/<(\/?)(data)/gi, '&lt;$1$2');
}

/** The prompts/ folder of the app, found from this file in both the source and the compiled layout. */
export function defaultTemplateDirectory(from = __dirname): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prompts');
    if (existsSync(candidate)) return candidate;
  }
  throw new TemplateError(`No prompts/ folder above ${from}.`);
}
