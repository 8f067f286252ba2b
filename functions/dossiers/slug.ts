/** Ids for consultants and job postings: readable slugs, safe in blob names and URLs. */
import { foldText } from '../platform/text';

const MAX_SLUG_LENGTH = 64;
const EMPTY_SLUG = 'item';

/** `[a-z0-9-]`, at most 64 characters, `item` when nothing is left. `JOB-2026-01` → `job-2026-01`. */
export function slugify(text: string): string {
  const slug = foldText(text)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return truncateSlug(slug, MAX_SLUG_LENGTH) || EMPTY_SLUG;
}

function truncateSlug(slug: string, maxLength: number): string {
  return slug.slice(0, maxLength).replace(/-+$/, '');
}

/**
 * The bases, with repeats suffixed `-2`, `-3`… in order of appearance. Every base is reserved up front,
 * so a base that already ends in `-2` keeps it and a repeat of its stem moves on to `-3`.
 */
export function uniqueIds(bases: readonly string[]): string[] {
  const taken = new Set(bases);
  const handedOut = new Set<string>();
  // Where each base's suffix search resumes, so many repeats of one name stay linear.
  const nextSuffix = new Map<string, number>();
  return bases.map((base) => {
    if (!handedOut.has(base)) {
      handedOut.add(base);
      return base;
    }
    for (let n = nextSuffix.get(base) ?? 2; ; n++) {
      const id = suffixed(base, n);
      if (taken.has(id)) continue;
      taken.add(id);
      nextSuffix.set(base, n + 1);
      return id;
    }
  });
}

// The stem is shortened rather than the suffix dropped, so the id stays within the slug length.
function suffixed(base: string, n: number): string {
  const suffix = `-${n}`;
  return truncateSlug(base, MAX_SLUG_LENGTH - suffix.length) + suffix;
}
