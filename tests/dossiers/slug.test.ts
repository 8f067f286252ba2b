import { describe, expect, it } from 'vitest';
import { slugify, uniqueIds } from '../../functions/dossiers/slug';
import { foldText } from '../../functions/platform/text';

describe('slugify', () => {
  it('lowercases and keeps digits and hyphens', () => {
    expect(slugify('JOB-2026-01')).toBe('job-2026-01');
  });

  it('removes accents and spells out ligatures', () => {
    expect(slugify('Élodie Marchand')).toBe('elodie-marchand');
    expect(slugify('Jérôme Œuvray')).toBe('jerome-oeuvray');
    expect(slugify('Lætitia Straße')).toBe('laetitia-strasse');
    expect(slugify('François Ångström')).toBe('francois-angstrom');
  });

  it('turns runs of other characters into one hyphen and trims hyphens', () => {
    expect(slugify('  Dupont, Jean (Sr.) — C#/.NET  ')).toBe('dupont-jean-sr-c-net');
    expect(slugify('--a__b--')).toBe('a-b');
  });

  it('caps the length at 64 without a trailing hyphen', () => {
    expect(slugify('a'.repeat(100))).toBe('a'.repeat(64));
    expect(slugify(`${'a'.repeat(63)} b`)).toBe('a'.repeat(63));
  });

  it('falls back to "item" when nothing is left', () => {
    expect(slugify('')).toBe('item');
    expect(slugify('  — ** —  ')).toBe('item');
    expect(slugify('日本語')).toBe('item');
  });
});

describe('foldText', () => {
  it('compares French text without case, accents or ligatures', () => {
    expect(foldText('Compétences Appréciées')).toBe('competences appreciees');
    expect(foldText('CŒUR')).toBe('coeur');
  });
});

describe('uniqueIds', () => {
  it('keeps unique bases as they are', () => {
    expect(uniqueIds(['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
  });

  it('suffixes repeats -2, -3 in order of appearance', () => {
    expect(uniqueIds(['jean-martin', 'zoe', 'jean-martin', 'jean-martin'])).toEqual([
      'jean-martin',
      'zoe',
      'jean-martin-2',
      'jean-martin-3',
    ]);
  });

  it('does not take a suffixed id that another base already has', () => {
    expect(uniqueIds(['a', 'a', 'a-2'])).toEqual(['a', 'a-3', 'a-2']);
    expect(uniqueIds(['a-2', 'a', 'a'])).toEqual(['a-2', 'a', 'a-3']);
    expect(uniqueIds(['a-2', 'a-2', 'a', 'a'])).toEqual(['a-2', 'a-2-2', 'a', 'a-3']);
  });

  it('keeps suffixed ids within 64 characters', () => {
    const long = 'a'.repeat(64);
    expect(uniqueIds([long, long])).toEqual([long, `${'a'.repeat(62)}-2`]);
  });
});
