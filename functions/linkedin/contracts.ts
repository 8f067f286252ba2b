import { z } from 'zod';
import { durableContract } from '../platform/durable';
import { POST_STATUSES } from './store';

/** One publication attempt of one post: the orchestration's instance id is `linkedin-post-<id>-<attempt>`. */
export const publishInputSchema = z.object({
  postId: z.string().regex(/^[0-9a-f]{16}$/),
  attempt: z.number().int().min(1),
});
export type PublishInput = z.infer<typeof publishInputSchema>;

/** What a step left the post as; `continue` lets the orchestration take the next step. */
export const stepOutcomeSchema = z.object({
  status: z.union([z.enum(POST_STATUSES), z.literal('continue')]),
  reason: z.string().optional(),
});
export type StepOutcome = z.infer<typeof stepOutcomeSchema>;

export const LINKEDIN_DURABLE = {
  publish: durableContract('linkedinPublish', publishInputSchema, stepOutcomeSchema),
  uploadMedia: durableContract('linkedinUploadMedia', publishInputSchema, stepOutcomeSchema),
  createPost: durableContract('linkedinCreatePost', publishInputSchema, stepOutcomeSchema),
};

/** Every publication attempt's instance id starts with this. */
export const LINKEDIN_POST_RUN_PREFIX = 'linkedin-post-';
export const publishInstanceId = (input: PublishInput) =>
  `${LINKEDIN_POST_RUN_PREFIX}${input.postId}-${input.attempt}`;
