import { foldText } from '../platform/text';

/**
 * Skill names compared the way people write them: case, accents and punctuation do not matter
 * ("Node.js" = "nodejs", "Éthique" = "ethique"), and a skill matches a longer one that contains its
 * words in order ("Spark" = "Apache Spark", "Azure" ⊂ "Azure Data Factory").
 */
export function skillTokens(text: string): string[] {
  return foldText(text)
    .replace(/\.(?=[a-z])/g, '')
    .split(/[^a-z0-9+#]+/)
    .filter(Boolean);
}

/** True when `inner` appears as a run of whole tokens inside `outer`. */
export function containsTokens(outer: readonly string[], inner: readonly string[]): boolean {
  if (inner.length === 0 || inner.length > outer.length) return false;
  for (let start = 0; start + inner.length <= outer.length; start++) {
    if (inner.every((token, i) => outer[start + i] === token)) return true;
  }
  return false;
}

export function skillsMatch(a: string, b: string): boolean {
  const ta = skillTokens(a);
  const tb = skillTokens(b);
  return containsTokens(ta, tb) || containsTokens(tb, ta);
}
