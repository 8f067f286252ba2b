import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../functions/platform/redact';

describe('createRedactor', () => {
  const redact = createRedactor(['my-very-secret-value', 'abc']);

  it('removes the values of secret settings wherever they appear', () => {
    expect(redact('failed with my-very-secret-value inside')).toBe('failed with [redacted] inside');
  });

  it('leaves very short values to the patterns, so ordinary words survive', () => {
    expect(redact('abcdef')).toBe('abcdef');
  });

  it('removes credential-shaped fragments whatever their source', () => {
    expect(redact('AccountName=a;AccountKey=Zm9vYmFy==;EndpointSuffix=x')).toBe(
      'AccountName=a;AccountKey=[redacted];EndpointSuffix=x',
    );
    expect(redact('GET https://x/api/run?code=abc123&lang=fr')).toBe(
      'GET https://x/api/run?code=[redacted]&lang=fr',
    );
    expect(redact('https://a.blob.core.windows.net/c/b?sv=2024&sig=abcd%2Bef')).toBe(
      'https://a.blob.core.windows.net/c/b?sv=2024&sig=[redacted]',
    );
    expect(redact('Authorization: Bearer eyJhbGciOi.J9.x')).not.toContain('eyJhbGciOi');
    expect(redact('{"api-key": "sk-123456"}')).toBe('{"api-key": "[redacted]"}');
  });
});
