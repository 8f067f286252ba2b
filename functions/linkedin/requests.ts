import { z } from 'zod';
import { MAX_TEXT_CHARS } from './content';

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `is longer than ${max} characters`);
const base64 = z.string().regex(/^[A-Za-z0-9+/=\s]+$/, 'must be base64');
const future = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date and time with its offset' });

const imageInput = z
  .object({
    contentBase64: base64,
    contentType: z.enum(['image/jpeg', 'image/png', 'image/gif'], {
      message: 'must be image/jpeg, image/png or image/gif',
    }),
    altText: text(4086).optional(),
  })
  .strict();

const postFields = {
  accountId: text(100).optional(),
  text: z.string().max(MAX_TEXT_CHARS, `is longer than ${MAX_TEXT_CHARS} characters (LinkedIn's limit)`),
  image: imageInput.optional(),
  link: z
    .object({
      url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
      title: text(400),
      description: text(4086).optional(),
      thumbnail: imageInput.omit({ altText: true }).optional(),
    })
    .strict()
    .optional(),
  scheduledAt: future.optional(),
  slot: z.literal('next', { message: 'must be "next"' }).optional(),
  draft: z.boolean().optional(),
};

const exclusive = (
  b: { image?: unknown; link?: unknown; scheduledAt?: unknown; slot?: unknown },
  issue: (path: string, message: string) => void,
) => {
  if (b.image && b.link) issue('link', 'cannot be combined with image: a post carries one or the other');
  if (b.scheduledAt && b.slot) issue('slot', 'cannot be combined with scheduledAt');
};

export const createPostSchema = z
  .object(postFields)
  .strict()
  .superRefine((b, ctx) => {
    if (!b.text.trim()) ctx.addIssue({ code: 'custom', path: ['text'], message: 'must not be empty' });
    exclusive(b, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message }));
  });
export type CreatePostRequest = z.infer<typeof createPostSchema>;

/** An edit: any field again; `null` removes the image or the link. */
export const updatePostSchema = z
  .object({
    ...postFields,
    text: postFields.text.optional(),
    image: imageInput.nullable().optional(),
    link: postFields.link.unwrap().nullable().optional(),
  })
  .strict()
  .superRefine((b, ctx) =>
    exclusive(b, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message })),
  );
export type UpdatePostRequest = z.infer<typeof updatePostSchema>;

export const scheduleRequestSchema = z
  .object({
    timezone: text(64),
    slots: z
      .array(
        z
          .object({
            day: z.enum(['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']),
            time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)'),
          })
          .strict(),
      )
      .max(100, 'has more than 100 slots'),
  })
  .strict();

export const confirmSchema = z
  .object({
    urn: z
      .string()
      .regex(/^urn:li:(share|ugcPost):[A-Za-z0-9]+$/, 'must be urn:li:share:… or urn:li:ugcPost:…'),
  })
  .strict();

export const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
