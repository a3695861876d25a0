// What counts as "one emoji" for reactions (API.md, "Reactions"): exactly one extended grapheme
// cluster (Intl.Segmenter, so a ZWJ family, a skin tone or a flag is one), and that grapheme an
// emoji: a flag (two regional indicators), a keycap (digit, # or * with U+20E3), or built only of
// emoji code points (pictographs, presentation selectors, skin-tone modifiers, ZWJ, the tag
// characters of subdivision flags) with at least one pictograph. The text is kept exactly as sent:
// "❤" and "❤️" are two different reactions, as in Slack and Stream Chat.

/** A grapheme longer than this is no emoji anyone can type (the longest RGI sequences are ~10). */
const MAX_CODE_POINTS = 16;

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

const FLAG = /^\p{Regional_Indicator}{2}$/u;
const KEYCAP = /^[0-9#*]\uFE0F?\u20E3$/u;
const PICTOGRAPH = /[\p{Extended_Pictographic}\p{Emoji_Presentation}]/u;
/** Every code point of a pictographic emoji sequence. */
const EMOJI_PART = /^[\p{Extended_Pictographic}\p{Emoji_Presentation}\p{Emoji_Modifier}\u200D\uFE0E\uFE0F\u20E3\u{E0020}-\u{E007F}]$/u;

export function isOneEmoji(text: string): boolean {
  const codePoints = [...text];
  if (codePoints.length === 0 || codePoints.length > MAX_CODE_POINTS) return false;
  const graphemes = segmenter.segment(text)[Symbol.iterator]();
  const first = graphemes.next();
  if (first.done || !graphemes.next().done) return false;
  if (FLAG.test(text) || KEYCAP.test(text)) return true;
  // A lone regional indicator is a letter of a flag, not an emoji.
  if (/\p{Regional_Indicator}/u.test(text)) return false;
  return PICTOGRAPH.test(text) && codePoints.every((c) => EMOJI_PART.test(c));
}
