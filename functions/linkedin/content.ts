import { InvalidInputError } from '../platform/errors';

/**
 * Characters LinkedIn's "little text" reserves: unescaped, they silently cut a post at that point. A `#`
 * opening a word is the exception: it is a hashtag element, which LinkedIn links.
 */
const RESERVED = /#(?!\p{L})|[\\|{}@[\]()<>*_~]/gu;

/** The text as LinkedIn's `commentary` must carry it: reserved characters backslash-escaped, hashtags kept. */
export function escapeLittleText(text: string): string {
  return text.replace(RESERVED, (c) => `\\${c}`);
}

export const MAX_TEXT_CHARS = 3000;
/** LinkedIn's limit on an image's pixels (width × height). */
export const MAX_IMAGE_PIXELS = 36_152_320;
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

export type ImageType = 'image/jpeg' | 'image/png' | 'image/gif';

/**
 * The image's real type (from its first bytes, not what the client claimed) and size in pixels, read from
 * the PNG IHDR, the GIF screen descriptor or the JPEG start-of-frame; a clear error naming `field` otherwise.
 */
export function inspectImage(
  bytes: Buffer,
  claimed: string,
  field: string,
): { contentType: ImageType; width: number; height: number } {
  if (bytes.length === 0) throw new InvalidInputError(field, 'is empty');
  if (bytes.length > MAX_IMAGE_BYTES)
    throw new InvalidInputError(field, `is larger than ${MAX_IMAGE_BYTES} bytes`);
  const found = sniff(bytes);
  if (!found)
    throw new InvalidInputError(field, 'is not a JPEG, PNG or GIF image (LinkedIn takes only these)');
  if (claimed && claimed !== found.contentType)
    throw new InvalidInputError(
      `${field}.contentType`,
      `says ${claimed} but the bytes are ${found.contentType}`,
    );
  if (found.width * found.height > MAX_IMAGE_PIXELS)
    throw new InvalidInputError(
      field,
      `has ${found.width}×${found.height} pixels; LinkedIn takes at most ${MAX_IMAGE_PIXELS}`,
    );
  return found;
}

function sniff(b: Buffer): { contentType: ImageType; width: number; height: number } | undefined {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('ascii', 12, 16) === 'IHDR')
    return { contentType: 'image/png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.length >= 10 && /^GIF8[79]a$/.test(b.toString('ascii', 0, 6)))
    return { contentType: 'image/gif', width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegSize(b);
  return undefined;
}

/** Walks the JPEG markers to the first start-of-frame (SOF0–SOF15 but DHT, JPG and DAC). */
function jpegSize(b: Buffer): { contentType: 'image/jpeg'; width: number; height: number } | undefined {
  let offset = 2;
  while (offset + 9 < b.length) {
    if (b[offset] !== 0xff) return undefined;
    const marker = b[offset + 1] ?? 0;
    const length = b.readUInt16BE(offset + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return {
        contentType: 'image/jpeg',
        height: b.readUInt16BE(offset + 5),
        width: b.readUInt16BE(offset + 7),
      };
    offset += 2 + length;
  }
  return undefined;
}

/** The wall-clock parts of `date` in `timeZone` (weekday 0 = Sunday). */
function zoned(date: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'short',
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday')),
  };
}

/** The instant when the clocks of `timeZone` show `y-m-d hh:mm` (DST-aware: adjusts by the zone's offset then). */
function instantAt(y: number, m: number, d: number, time: string, timeZone: string): Date {
  const [hh = 0, mm = 0] = time.split(':').map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  const offset = (at: number) => {
    const z = zoned(new Date(at), timeZone);
    return Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute) - at;
  };
  const first = guess - offset(guess);
  return new Date(guess - offset(first));
}

const SLOT_GAP_MS = 5 * 60_000;
const SLOT_HORIZON_DAYS = 14;

/**
 * The next free queue slot after `now`: the slots (weekday 0 = Sunday, local time) in `timeZone`, skipping
 * any within 5 minutes of a post already scheduled; undefined when none is free within 14 days.
 */
export function nextFreeSlot(
  slots: readonly { day: number; time: string }[],
  timeZone: string,
  now: Date,
  taken: readonly string[],
): Date | undefined {
  const busy = taken.map((t) => Date.parse(t));
  for (let offset = 0; offset <= SLOT_HORIZON_DAYS; offset++) {
    const date = zoned(new Date(now.getTime() + offset * 86_400_000), timeZone);
    const candidates = slots
      .filter((s) => s.day === date.weekday)
      .map((s) => instantAt(date.year, date.month, date.day, s.time, timeZone))
      .sort((a, b) => a.getTime() - b.getTime());
    for (const at of candidates) {
      if (at.getTime() <= now.getTime()) continue;
      if (busy.some((b) => Math.abs(b - at.getTime()) < SLOT_GAP_MS)) continue;
      return at;
    }
  }
  return undefined;
}
