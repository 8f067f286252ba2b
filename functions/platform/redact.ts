/**
 * Removes secrets from text bound for logs or error messages: the values of secret settings, and
 * credential-shaped fragments (storage keys, SAS signatures, function keys, bearer tokens) whatever
 * their source, so a secret that slips into an exception message is still caught.
 */
const REDACTED = '[redacted]';

// Group 1 is the part that stays (the name of the credential); what follows it is replaced.
const CREDENTIAL_PATTERNS: readonly RegExp[] = [
  /((?:AccountKey|SharedAccessKey|SharedAccessSignature|InstrumentationKey|Password|pwd)=)[^;"'\s]+/gi,
  /([?&](?:sig|code|key|api-key|access_token)=)[^&"'\s]+/gi,
  /(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/g,
  /("?(?:api[-_]?key|authorization|x-functions-key|ocp-apim-subscription-key)"?\s*[:=]\s*"?)[^",\s}]+/gi,
];

export type Redactor = (text: string) => string;

export function createRedactor(secretValues: readonly string[]): Redactor {
  // Longest first so a secret that contains another is removed whole; very short values would
  // blank ordinary words, so they are left to the patterns.
  const secrets = [...new Set(secretValues)].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join(REDACTED);
    for (const pattern of CREDENTIAL_PATTERNS) out = out.replace(pattern, `$1${REDACTED}`);
    return out;
  };
}
