import { describe, expect, it } from 'vitest';
import { escapeLittleText, inspectImage, nextFreeSlot } from '../../functions/linkedin/content';

describe('little text', () => {
  it('escapes every character LinkedIn would cut a post at, keeps hashtags, and touches nothing else', () => {
    expect(escapeLittleText('Offre (CDI) @Lyon #data 50% [remote] {x} <b> *gras* _it_ ~s~ a|b \\ fin')).toBe(
      'Offre \\(CDI\\) \\@Lyon #data 50% \\[remote\\] \\{x\\} \\<b\\> \\*gras\\* \\_it\\_ \\~s\\~ a\\|b \\\\ fin',
    );
    // A hashtag (`#` before a letter) is kept for LinkedIn to link; any other `#` is escaped.
    expect(escapeLittleText('#Rentrée en C# : #2026')).toBe('#Rentrée en C\\# : \\#2026');
    expect(escapeLittleText('Rentrée : été, où, ça — 100 € !')).toBe('Rentrée : été, où, ça — 100 € !');
  });
});

describe('images', () => {
  const gif = Buffer.concat([
    Buffer.from('GIF89a', 'ascii'),
    Buffer.from([0x20, 0x01, 0x10, 0x00]),
    Buffer.alloc(20),
  ]);
  const jpeg = Buffer.from([
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x02, 0x58, 0x03, 0x20,
    0x03,
  ]);
  const png = (width: number, height: number) => {
    const b = Buffer.alloc(33);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 0);
    b.write('IHDR', 12, 'ascii');
    b.writeUInt32BE(width, 16);
    b.writeUInt32BE(height, 20);
    return b;
  };

  it('reads the real type and size from the bytes', () => {
    expect(inspectImage(gif, 'image/gif', 'image')).toEqual({
      contentType: 'image/gif',
      width: 288,
      height: 16,
    });
    expect(inspectImage(jpeg, 'image/jpeg', 'image')).toEqual({
      contentType: 'image/jpeg',
      width: 800,
      height: 600,
    });
    expect(inspectImage(png(1200, 627), 'image/png', 'image')).toEqual({
      contentType: 'image/png',
      width: 1200,
      height: 627,
    });
  });

  it('refuses a claimed type the bytes contradict, too many pixels, and what is not an image, naming the field', () => {
    expect(() => inspectImage(gif, 'image/png', 'body.image')).toThrow(
      /^body\.image\.contentType: says image\/png but the bytes are image\/gif/,
    );
    expect(() => inspectImage(png(7000, 6000), 'image/png', 'body.image')).toThrow(
      /^body\.image: has 7000×6000 pixels/,
    );
    expect(() => inspectImage(Buffer.from('%PDF-1.7'), 'image/png', 'body.image')).toThrow(
      /^body\.image: is not a JPEG, PNG or GIF/,
    );
  });
});

describe('queue slots', () => {
  const daily = (time: string) => [0, 1, 2, 3, 4, 5, 6].map((day) => ({ day, time }));
  const paris = (at: Date | undefined) =>
    at &&
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Paris',
      dateStyle: 'short',
      timeStyle: 'short',
    }).format(at);

  it('takes the next slot in the zone, across the change to summer time', () => {
    // Saturday 28 March 2026, 10:00 in Paris (UTC+1); clocks go forward on Sunday 29 March.
    const now = new Date('2026-03-28T09:00:00Z');
    const slot = nextFreeSlot(daily('09:00'), 'Europe/Paris', now, []);
    expect(paris(slot)).toBe('29/03/2026, 09:00');
    expect(slot?.toISOString()).toBe('2026-03-29T07:00:00.000Z');
  });

  it('skips a slot within 5 minutes of a scheduled post, and gives up after 14 days', () => {
    const now = new Date('2026-11-23T06:00:00Z');
    const slots = [{ day: 1, time: '09:00' }];
    const first = nextFreeSlot(slots, 'Europe/Paris', now, ['2026-11-23T08:03:00Z']);
    expect(paris(first)).toBe('30/11/2026, 09:00');
    const taken = [0, 1, 2].map((w) =>
      new Date(Date.parse('2026-11-23T08:00:00Z') + w * 7 * 86_400_000).toISOString(),
    );
    expect(nextFreeSlot(slots, 'Europe/Paris', now, taken)).toBeUndefined();
  });
});
