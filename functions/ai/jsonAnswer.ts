import type { z } from 'zod';

/** A model's answer is not in the shape its task asked for. */
export class MalformedAnswerError extends Error {
  constructor(
    readonly task: string,
    problem: string,
  ) {
    super(`The ${task} answer ${problem}`);
    this.name = 'MalformedAnswerError';
  }
}

/** Reads a task's JSON answer, bare or inside a ``` fence, with or without prose around it. */
export function parseJsonAnswer<S extends z.ZodType>(task: string, text: string, schema: S): z.output<S> {
  const source = /```[a-z]*\s*([\s\S]*?)```/i.exec(text)?.[1] ?? text;
  const start = source.indexOf('{');
  const end = source.lastIndexOf('}');
  if (start === -1 || end < start)
    throw new MalformedAnswerError(task, `holds no JSON object: "${preview(text)}"`);
  let value: unknown;
  try {
    value = JSON.parse(source.slice(start, end + 1));
  } catch (error) {
    throw new MalformedAnswerError(
      task,
      `is not valid JSON (${(error as Error).message}): "${preview(text)}"`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`);
    throw new MalformedAnswerError(task, `does not have the expected fields: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function preview(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
